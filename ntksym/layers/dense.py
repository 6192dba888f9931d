"""`dense`: a fully-connected affine layer (the kernel rule: symbolic/rules/dense.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind, Lowering
from ntksym.spec import schema as s
from ntksym.spec.fields import B_STD, W_STD, Field

DEFAULT_WIDTH = 512  # a hidden layer's width in the finite network when the spec gives none
DEFAULT_OUTPUT_WIDTH = 1


class DenseKind(LayerKind):
    key = "dense"
    doc = "fully-connected affine layer"
    fields = {"w_std": W_STD, "b_std": B_STD, "width": Field("count", None, "finite network's width")}
    has_weights = True
    depth_analysed = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.Dense(values["w_std"], values["b_std"], values["width"], path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.rules.dense import dense_step

        return dense_step(layer, parameterization)

    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """q' = w^2 q + b^2 on both the diagonal and the pair covariance; slope w^2 (Poole et al. 2016)."""
        import sympy as sp

        from ntksym.depth.maps import entrywise_map
        from ntksym.symbolic.state import q12

        return entrywise_map(step.nngp, step.nngp_diag, sp.diff(step.nngp, q12), ctx)

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        is_output = layer is lower.output
        default = DEFAULT_OUTPUT_WIDTH if is_output else DEFAULT_WIDTH
        width = default if layer.width is None else lower.count(layer.width, f"{layer.path}.width")
        b_std = None if layer.b_std is None else lower.number(layer.b_std)
        return ("dense", lower.number(layer.w_std), b_std, width, is_output)

    def describe(self, layer: Any, describe_body: Callable) -> str:
        return "dense" + (f"({layer.width})" if layer.width is not None else "")

    def weights(self, layer: Any, width: int, weights_body: Callable) -> int:
        return width * width

    def with_width(self, layer: Any, width: int, is_output: bool) -> Any:
        import dataclasses

        return layer if is_output else dataclasses.replace(layer, width=int(width))


KIND = DenseKind()
