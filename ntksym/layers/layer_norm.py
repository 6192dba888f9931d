"""`layer_norm`: x / sqrt(mean(x^2)) over the features (the kernel rule: symbolic/rules/dense.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class LayerNormKind(LayerKind):
    key = "layer_norm"
    doc = "normalise each input over its features"

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.LayerNorm(path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.rules.dense import layer_norm_step

        return layer_norm_step(layer)


KIND = LayerNormKind()
