"""a exp(b x) and a exp(b x^2), by completing the square.

  exp:      E = a^2 exp(b^2 (q11 + 2 q12 + q22)/2),  E' = b^2 E.
  gaussian: with D = (1 - 2b q11)(1 - 2b q22) - 4 b^2 q12^2 = det(I - 2b Sigma),
            E = a^2 / sqrt(D),  E' = 4 a^2 b^2 q12 / D^(3/2)   (phi' = 2ab x exp(b x^2));
            finite only while D > 0 (always for b <= 0).
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.state import q11, q12, q22
from ntksym.symbolic.values import to_sympy

SOURCE = "Gaussian moment generating function (completing the square)"


def exp(act: Activation) -> Dual:
    a, b = to_sympy(act.param("a")), to_sympy(act.param("b"))
    nngp = a**2 * sp.exp(b**2 * (q11 + 2 * q12 + q22) / 2)
    nngp_diag = a**2 * sp.exp(2 * b**2 * q11)
    return Dual(nngp, b**2 * nngp, nngp_diag, b**2 * nngp_diag, "closed form", SOURCE)


def gaussian(act: Activation) -> Dual:
    a, b = to_sympy(act.param("a")), to_sympy(act.param("b"))
    det = (1 - 2 * b * q11) * (1 - 2 * b * q22) - 4 * b**2 * q12**2
    det_diag = 1 - 4 * b * q11
    return Dual(a**2 / sp.sqrt(det), 4 * a**2 * b**2 * q12 / det ** sp.Rational(3, 2),
                a**2 / sp.sqrt(det_diag), 4 * a**2 * b**2 * q11 / det_diag ** sp.Rational(3, 2),
                "closed form", SOURCE)
