"""`layer_norm`: x / sqrt(mean(x^2)) over the features (the kernel rule: symbolic/rules/dense.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class LayerNormKind(LayerKind):
    key = "layer_norm"
    doc = "normalise each input over its features"
    depth_analysed = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.LayerNorm(path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.rules.dense import layer_norm_step

        return layer_norm_step(layer)


    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """In the infinite-width limit layer norm maps each input's variance to 1 and keeps correlations:
        q' = 1, k' = k / sqrt(q11 q22), slope 1 / q (Jacot, Gabriel, Hongler 2019, "Freeze and chaos
        for DNNs": normalisation pushes towards chaos). A zero input stays 0, as in the kernel rule."""
        import sympy as sp

        from ntksym.depth.maps import entrywise_map
        from ntksym.symbolic.safe import SafeDiv
        from ntksym.symbolic.state import q11, q22

        return entrywise_map(step.nngp, step.nngp_diag, SafeDiv(1, sp.sqrt(q11 * q22)), ctx, SafeDiv(1, q11))


KIND = LayerNormKind()
