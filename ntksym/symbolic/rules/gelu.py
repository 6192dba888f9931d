"""GELU, x Phi(x) (exact, not the tanh approximation).

Derived by Gaussian integration by parts (Stein's lemma) and tilting by phi(u) = exp(-u^2/2)/sqrt(2 pi);
the result agrees with Tsuchida et al. 2021, 'Avoiding kernel fixed points: computing with ELU and
GELU infinite networks'. With A = 1 + q11, B = 1 + q22, D = A B - q12^2:
  E[phi phi]   = q12/4 + q12 arcsin(q12/sqrt(A B))/(2 pi) + (q11 q22 - q12^2 + q12^2 (1/A + 1/B))/(2 pi sqrt(D)),
  E[phi' phi'] = 1/4 + arcsin(q12/sqrt(A B))/(2 pi) + q12 (1/A + 1/B)/(2 pi sqrt(D)) + q12/(2 pi D^(3/2)).
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.state import ClampedSqrt, q11, q12, q22

SOURCE = "Stein's lemma and Gaussian tilting; Tsuchida et al. 2021"


def _forms(s11: sp.Expr, s12: sp.Expr, s22: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    A, B = 1 + s11, 1 + s22
    # det = s11 s22 - s12^2 >= 0 (clamped), so D = A B - s12^2 = 1 + s11 + s22 + det has no cancellation
    # and arcsin(s12 / sqrt(A B)) = arctan2(s12, sqrt(D)) stays accurate for nearly identical inputs
    det = ClampedSqrt(s11 * s22 - s12**2) ** 2
    D = 1 + s11 + s22 + det
    inv_sum = 1 / A + 1 / B
    arc = sp.atan2(s12, sp.sqrt(D))
    nngp = s12 / 4 + s12 * arc / (2 * sp.pi) + (det + s12**2 * inv_sum) / (2 * sp.pi * sp.sqrt(D))
    ntk = sp.Rational(1, 4) + arc / (2 * sp.pi) + s12 * inv_sum / (2 * sp.pi * sp.sqrt(D)) + s12 / (2 * sp.pi * D ** sp.Rational(3, 2))
    return nngp, ntk


def gelu(act: Activation) -> Dual:
    nngp, ntk = _forms(q11, q12, q22)
    nngp_diag, ntk_diag = (sp.simplify(e) for e in _forms(q11, q11, q11))
    return Dual(nngp, ntk, nngp_diag, ntk_diag, "closed form", SOURCE)
