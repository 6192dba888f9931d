"""Piecewise-linear activations: relu, leaky_relu, abrelu, abs, step.

a min(x, 0) + b max(x, 0) has the arc-cosine dual (Cho & Saul 2009, degree 1):
  E = (a-b)^2/(2 pi) sqrt(q11 q22 - q12^2) + [(a^2+b^2)/2 - (a-b)^2/(2 pi) theta] q12,
  E' = [(a^2+b^2)(pi - theta) + 2ab theta] / (2 pi),
with theta = arccos(rho) computed as arctan2(sqrt(det), q12). On the diagonal theta = 0 exactly, so
E(x, x) = (a^2+b^2)/2 q11 and E'(x, x) = (a^2+b^2)/2: no rounded angle ever reaches them.

The correlation gap (gap.py) after the layer, sqrt(E(x, x) E(x', x')) - E, with q12 = r cos(theta),
sqrt(det) = r sin(theta), r = sqrt(q11 q22) and g12 = r (1 - cos(theta)):
  (a^2+b^2)/2 g12 - (a-b)^2/(2 pi) r (sin(theta) - theta cos(theta)),
and for the step function 1/2 - (pi - theta)/(2 pi) = theta / (2 pi).
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.gap import ScaledSinMinusThetaCos
from ntksym.symbolic.state import ANGLE, SQRT_DET, g12, q11, q12, q22
from ntksym.symbolic.values import to_sympy

SOURCE = "arc-cosine kernel of degree 1 (Cho & Saul 2009)"


def abrelu_dual(a: sp.Expr, b: sp.Expr) -> Dual:
    """Dual of a min(x, 0) + b max(x, 0)."""
    if a == 0 and b == 1:  # relu, in its familiar form
        nngp = (SQRT_DET + (sp.pi - ANGLE) * q12) / (2 * sp.pi)
        ntk = (sp.pi - ANGLE) / (2 * sp.pi)
    else:
        nngp = (a - b) ** 2 / (2 * sp.pi) * SQRT_DET + ((a**2 + b**2) / 2 - (a - b) ** 2 / (2 * sp.pi) * ANGLE) * q12
        ntk = ((a**2 + b**2) * (sp.pi - ANGLE) + 2 * a * b * ANGLE) / (2 * sp.pi)
    half_square = (a**2 + b**2) / 2
    gap = half_square * g12 - (a - b) ** 2 / (2 * sp.pi) * ScaledSinMinusThetaCos(ANGLE, SQRT_DET, q12, q11, q22)
    return Dual(nngp, ntk, half_square * q11, half_square, "closed form", SOURCE, clamps_correlation=True,
                nngp_gap=gap)


def relu(act: Activation) -> Dual:
    return abrelu_dual(sp.Integer(0), sp.Integer(1))


def leaky_relu(act: Activation) -> Dual:
    return abrelu_dual(to_sympy(act.param("alpha")), sp.Integer(1))


def abrelu(act: Activation) -> Dual:
    return abrelu_dual(to_sympy(act.param("a")), to_sympy(act.param("b")))


def absolute(act: Activation) -> Dual:
    return abrelu_dual(sp.Integer(-1), sp.Integer(1))


def step(act: Activation) -> Dual:
    """1(x > 0): E = P(u > 0, v > 0) = (pi - theta) / (2 pi); its derivative is zero almost everywhere."""
    return Dual((sp.pi - ANGLE) / (2 * sp.pi), sp.Integer(0), sp.Rational(1, 2), sp.Integer(0),
                "closed form", "orthant probability (Sheppard 1899; Cho & Saul 2009, degree 0)", clamps_correlation=True,
                nngp_gap=ANGLE / (2 * sp.pi))
