"""a sin(b x + c) and a cos(b x + c), from the Gaussian characteristic function.

With s = (q11 + q22)/2, E[cos(b(u - v))] = exp(b^2 (q12 - s)), E[cos(b(u + v) + 2c)] = cos(2c) exp(-b^2 (q12 + s)):
  sin: E = (a^2/2)[exp(b^2(q12 - s)) - cos(2c) exp(-b^2(q12 + s))],  E' = (a^2 b^2/2)[... + ...];
  cos: the same with the signs of the cos(2c) terms swapped (THEORY.md).
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.state import q11, q12, q22
from ntksym.symbolic.values import to_sympy

SOURCE = "Gaussian characteristic function"


def _dual(act: Activation, sign: int) -> Dual:
    a, b, c = (to_sympy(act.param(k)) for k in "abc")
    b2 = b**2

    def forms(s11, s12, s22):
        s = (s11 + s22) / 2
        near, far = sp.exp(b2 * (s12 - s)), sp.cos(2 * c) * sp.exp(-b2 * (s12 + s))
        return a**2 / 2 * (near - sign * far), a**2 * b2 / 2 * (near + sign * far)

    nngp, ntk = forms(q11, q12, q22)
    nngp_diag, ntk_diag = (sp.simplify(e) for e in forms(q11, q11, q11))
    return Dual(nngp, ntk, nngp_diag, ntk_diag, "closed form", SOURCE)


def sin(act: Activation) -> Dual:
    return _dual(act, +1)


def cos(act: Activation) -> Dual:
    return _dual(act, -1)
