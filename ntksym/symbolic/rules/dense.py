"""Dense layers and layer norm, as entrywise maps of the state.

ntk parameterization (Jacot et al. 2018): Sigma' = w^2 Sigma + b^2, Theta' = Sigma' + w^2 Theta.
standard parameterization (Sohl-Dickstein et al. 2020): Sigma' the same,
Theta' = fan_in Sigma + w^2 Theta + [1 if the layer has a bias].
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Dense, LayerNorm
from ntksym.symbolic.gap import AffineGap
from ntksym.symbolic.safe import SafeDiv
from ntksym.symbolic.state import ClampedSqrt, fan_in, g12, q11, q12, q22, t11, t12
from ntksym.symbolic.steps import EntrywiseStep
from ntksym.symbolic.values import to_sympy


def dense_step(layer: Dense, parameterization: str) -> EntrywiseStep:
    w = to_sympy(layer.w_std)
    b2 = sp.Integer(0) if layer.b_std is None else to_sympy(layer.b_std) ** 2
    nngp, nngp_diag = w**2 * q12 + b2, w**2 * q11 + b2
    if parameterization == "ntk":
        ntk, ntk_diag = nngp + w**2 * t12, nngp_diag + w**2 * t11
    else:
        bias = sp.Integer(0 if layer.b_std is None else 1)
        ntk, ntk_diag = fan_in * q12 + w**2 * t12 + bias, fan_in * q11 + w**2 * t11 + bias
    bias_text = "none" if layer.b_std is None else str(layer.b_std)
    width = None if layer.width is None else to_sympy(layer.width)
    return EntrywiseStep(layer.path, f"dense(w_std={layer.w_std}, b_std={bias_text})",
                         nngp, ntk, nngp_diag, ntk_diag, width, gap=AffineGap(q11, q22, g12, w**2, b2), kind="dense")


def layer_norm_step(layer: LayerNorm) -> EntrywiseStep:
    """Normalise over features: divide by the geometric mean of the two variances.

    A zero input (variance 0) is mapped to 0, as x / sqrt(mean(x^2) + eps) does (see `SafeDiv`)."""
    scale = sp.sqrt(q11 * q22)
    return EntrywiseStep(layer.path, "layer_norm", SafeDiv(q12, scale), SafeDiv(t12, scale), SafeDiv(q11, q11),
                         SafeDiv(t11, q11), gap=SafeDiv(g12, ClampedSqrt(q11 * q22)), kind="layer_norm")
