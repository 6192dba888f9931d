"""a erf(b x) + c (Williams 1997).

  E[phi phi]   = a^2 (2/pi) arcsin(2 b^2 q12 / sqrt((1 + 2 b^2 q11)(1 + 2 b^2 q22))) + c^2,
  E[phi' phi'] = a^2 b^2 (4/pi) / sqrt((1 + 2 b^2 q11)(1 + 2 b^2 q22) - 4 b^4 q12^2).
(E[erf(b u)] = 0 by symmetry, so c adds only c^2.)
Evaluated stably: with D = (1 + 2 b^2 q11)(1 + 2 b^2 q22) - 4 b^4 q12^2 = 1 + 2 b^2 (q11 + q22) + 4 b^4 det
(det = q11 q22 - q12^2 >= 0, no cancellation), arcsin(z) = arctan2(2 b^2 q12, sqrt(D)); arcsin near 1
would amplify rounding to its square root for nearly identical inputs.
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.state import SQRT_DET, q11, q12, q22
from ntksym.symbolic.values import to_sympy


def erf(act: Activation) -> Dual:
    a, b, c = (to_sympy(act.param(k)) for k in "abc")
    b2 = b**2
    d = 1 + 2 * b2 * (q11 + q22) + 4 * b2**2 * SQRT_DET**2
    nngp = a**2 * 2 / sp.pi * sp.atan2(2 * b2 * q12, sp.sqrt(d)) + c**2
    ntk = a**2 * b2 * 4 / sp.pi / sp.sqrt(d)
    d_diag = 1 + 4 * b2 * q11
    nngp_diag = a**2 * 2 / sp.pi * sp.atan2(2 * b2 * q11, sp.sqrt(d_diag)) + c**2
    ntk_diag = a**2 * b2 * 4 / sp.pi / sp.sqrt(d_diag)
    return Dual(nngp, ntk, nngp_diag, ntk_diag, "closed form", "Williams 1997, 'Computing with infinite networks'")
