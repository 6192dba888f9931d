"""`layer_norm`: x / sqrt(mean(x^2)) over the features (the kernel rule: symbolic/rules/dense.py)."""

from __future__ import annotations

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class LayerNormKind(LayerKind):
    key = "layer_norm"
    doc = "normalise each input over its features"

    def build(self, values, where, error):
        return s.LayerNorm(path=where)

    def derive(self, layer, parameterization, derive_body):
        from ntksym.symbolic.rules.dense import layer_norm_step

        return layer_norm_step(layer)


KIND = LayerNormKind()
