"""The correlation gap g12 = sqrt(q11 q22) - q12, and the layer rules that update it without cancellation.

Deep networks drive the correlation rho = q12 / sqrt(q11 q22) of every pair towards 1 (exponentially
fast in the ordered phase). Once 1 - rho is below machine epsilon, q12 no longer holds it, yet the NTK of
a ReLU network depends on the angle theta ~ sqrt(2 (1 - rho)) at first order: in float32 at depth 1000
cost a few per cent of every NTK entry. The generated code therefore carries g12 instead of q12 (for
fully-connected states; q12 = sqrt(q11 q22) - g12 where a formula needs it), takes
sqrt(det) = sqrt(g12 (2 sqrt(q11 q22) - g12)) and the angle from it, and updates it by the rules below
where a layer has one (otherwise from sqrt(q11' q22') - q12', which is as accurate as q12' itself):

- affine maps q -> a q + c (dense layers): `AffineGap`;
- the arc-cosine duals a min(x, 0) + b max(x, 0) and the step function (rules/piecewise_linear.py),
  using sqrt(q11 q22) (sin(theta) - theta cos(theta)) (`ScaledSinMinusThetaCos`, a series for small
  theta);
- layer norm: g12 / sqrt(q11 q22); residual sums: in the generated module's `_residual_sum`.
"""

from __future__ import annotations

import sympy as sp


class SqrtDetFromGap(sp.Function):
    """sqrt(q11 q22 - q12^2) = sqrt(g12 (2 sqrt(q11 q22) - g12)): SqrtDetFromGap(q11, q22, g12), printed as
    `_sqrt_det_from_gap`. The code generator puts it in place of SQRT_DET before common-subexpression
    elimination, which would otherwise take q11 q22 - q12^2 apart."""

    nargs = 3


class AffineGap(sp.Function):
    """The gap after q -> a q + c, from the gap before: AffineGap(q11, q22, g12, a, c).

    sqrt((a q11 + c)(a q22 + c)) - (a q12 + c) = a g12 + a c (sqrt q11 - sqrt q22)^2 / D with
    D = sqrt((a q11 + c)(a q22 + c)) + a sqrt(q11 q22) + c (printed as `_affine_gap`)."""

    nargs = 5

    @classmethod
    def eval(cls, q11: sp.Expr, q22: sp.Expr, g12: sp.Expr, a: sp.Expr, c: sp.Expr) -> sp.Expr | None:
        if c.is_zero:
            return a * g12
        return None

    @staticmethod
    def _imp_(q11, q22, g12, a, c):  # for sympy.lambdify (numpy)
        import numpy as np

        outer = np.sqrt((a * q11 + c) * (a * q22 + c)) + a * np.sqrt(q11 * q22) + c
        return a * g12 + a * c * (np.sqrt(q11) - np.sqrt(q22)) ** 2 / outer


class ScaledSinMinusThetaCos(sp.Function):
    """sqrt(q11 q22) (sin(theta) - theta cos(theta)) = sqrt(det) - theta q12, written
    ScaledSinMinusThetaCos(theta, sqrt_det, q12, q11, q22) and printed as `_scaled_sin_minus_theta_cos`:
    a Taylor series for small theta, where the difference cancels (it is ~ sqrt(q11 q22) theta^3 / 3)."""

    nargs = 5

    @staticmethod
    def _imp_(theta, sqrt_det, q12, q11, q22):
        return sqrt_det - theta * q12
