"""Convolutions, as a patch average of the pixel-pair covariances followed by a dense layer's affine map.

For z(p) = w / sqrt(C k) * sum_{d, c} W[d, c] x(s p + d, c) + b (ntk parameterization, k = filter size):
    Sigma'(p, p') = w^2 / k * sum_d Sigma(s p + d, s p' + d) + b^2,
    Theta'(p, p') = Sigma'(p, p') + w^2 / k * sum_d Theta(s p + d, s p' + d)
(Novak et al. 2019, "Bayesian deep convolutional networks with many channels are Gaussian processes",
eq. 7; Arora et al. 2019, "On exact computation with an infinitely wide neural net", CNTK section).
The standard parameterization adds fan_in * A(Sigma) with fan_in = C k (Sohl-Dickstein et al. 2020).
SAME pads with zeros (covariance 0 outside the image), CIRCULAR wraps around, VALID does not pad;
the pads are those of `lax.padtype_to_pads(..., "SAME")`, as in neural-tangents.
"""

from __future__ import annotations

from ntksym.spec.schema import Conv, Dense
from ntksym.symbolic.rules.dense import dense_step
from ntksym.symbolic.steps import SpatialStep
from ntksym.symbolic.values import to_sympy


def conv_step(layer: Conv, parameterization: str) -> SpatialStep:
    """The patch average A and, after it, the affine map of a dense layer with the same w_std, b_std."""
    affine = dense_step(Dense(layer.w_std, layer.b_std), parameterization)
    bias = "none" if layer.b_std is None else str(layer.b_std)
    label = (f"{layer.kind}(filter={list(layer.filter)}, stride={list(layer.stride)}, padding={layer.padding}, "
             f"w_std={layer.w_std}, b_std={bias})")
    width = None if layer.channels is None else to_sympy(layer.channels)
    return SpatialStep(layer.path, layer.kind, label, tuple(layer.filter), tuple(layer.stride), layer.padding,
                       affine.nngp, affine.ntk, width)
