"""Global self-attention (ntksym/layers/attention.py), as a mixing of the pixel-pair covariances followed by
an affine map (Hron et al. 2020, "Infinite attention: NNGP and NTK for deep attention networks", ICML;
the conventions of neural-tangents' `GlobalSelfAttention` without positional embeddings).

linear scaling (logits / n_key, queries and keys tied): the logits converge to w_q w_k q11(p, p') for
each input; with the mixing M[K] = A_x K A_x'^T of the attention weights A = mech(logits),
    q12' = (w_v w_o)^2 M[q12] + b^2,   t12' = (w_v w_o)^2 (M[t12] + 2 M[q12]) + b^2.
1/sqrt(n_key) scaling, identity mechanism only, with s_qq = S[q12, q12], s_qt = S[q12, t12] the sums over
the pixel pairs of the two inputs:
    q12' = c s_qq q12 + b^2,   t12' = c (2 s_qt q12 + s_qq (t12 + 4 q12)) + b^2,   c = (w_q w_k w_v w_o)^2.
The same maps give the same-input entries (q11, t11) with x' = x.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.symbolic.state import q11, q12, t12
from ntksym.symbolic.steps import SpatialStep
from ntksym.symbolic.values import to_sympy

# the pixel-pair sums of the 1/sqrt scaling (arguments of the generated `_affine_k`; reserved names)
S_QQ, S_QT = sp.Symbol("s_qq", nonnegative=True), sp.Symbol("s_qt", real=True)


@dataclass(frozen=True)
class AttentionStep(SpatialStep):
    """A SpatialStep (kind "attention"): `nngp` / `ntk` are the map after the mixing, in the mixed q12,
    t12 (linear scaling) or in q12, t12, s_qq, s_qt (1/sqrt scaling); `logits` the attention logits in
    the input's own pixel-pair covariance q11 (linear scaling only); `width` the output channels."""

    mechanism: str = "softmax"
    linear_scaling: bool = True
    logits: sp.Expr | None = None


def attention_step(layer) -> AttentionStep:
    qk = to_sympy(layer.w_query_std) * to_sympy(layer.w_key_std)
    ov2 = (to_sympy(layer.w_value_std) * to_sympy(layer.w_out_std)) ** 2
    b2 = sp.Integer(0) if layer.b_std is None else to_sympy(layer.b_std) ** 2
    if layer.linear_scaling:
        nngp = ov2 * q12 + b2
        ntk = ov2 * (t12 + 2 * q12) + b2
        logits = qk * q11
    else:
        c = qk**2 * ov2
        nngp = c * S_QQ * q12 + b2
        ntk = c * (2 * S_QT * q12 + S_QQ * (t12 + 4 * q12)) + b2
        logits = None
    bias = "none" if layer.b_std is None else str(layer.b_std)
    scaling = "1/n_key" if layer.linear_scaling else "1/sqrt(n_key)"
    label = (f"attention(mechanism={layer.mechanism}, logits {scaling}, w_query_std={layer.w_query_std}, "
             f"w_key_std={layer.w_key_std}, w_value_std={layer.w_value_std}, w_out_std={layer.w_out_std}, "
             f"b_std={bias}, heads={layer.heads})")
    width = None if layer.channels is None else to_sympy(layer.channels)
    return AttentionStep(layer.path, "attention", label, nngp=nngp, ntk=ntk, width=width,
                         mechanism=layer.mechanism, linear_scaling=bool(layer.linear_scaling), logits=logits)
