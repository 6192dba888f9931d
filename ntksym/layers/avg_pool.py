"""`avg_pool`: window means over the spatial axes.

Kernel: Sigma'(p, p') = 1/|w|^2 sum_{d, d' in window} Sigma(s p + d, s p' + d'), the same map for the NTK
(no weights); SAME pads with zeros and still divides by the full window (neural-tangents' AvgPool with
normalize_edges=False), CIRCULAR wraps. Needs every pixel pair (full mode).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ntksym.layers.base import PADDING_TEXT, LayerKind, Lowering, output_dims, pool_stride, window_text
from ntksym.spec import schema as s
from ntksym.spec.fields import REQUIRED, Field

if TYPE_CHECKING:
    from ntksym.symbolic.steps import SpatialStep

POOL_FIELDS = {
    "window": Field("shape", REQUIRED),
    "stride": Field("shape", None, "default: the window"),
    "padding": Field("padding", "VALID"),
}


class AvgPoolKind(LayerKind):
    key = "avg_pool"
    doc = "window means over the spatial axes"
    fields = POOL_FIELDS
    on_pixels = mixes_pixels = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.AvgPool(values["window"], pool_stride(values["window"], values["stride"]), values["padding"],
                         path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        return pool_step(layer, self.key)

    def spatial_shape(self, step: Any, dims: tuple[int, ...]) -> tuple[int, ...] | None:
        return output_dims(dims, step.window, step.stride, step.padding)

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        return [f"{indent}s = _{self.key}(s, {tuple(step.window)!r}, {tuple(step.stride)!r}, {step.padding!r})"
                f"  # {writer.comment(step)}"]

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        return (self.key, tuple(layer.window), pool_stride(layer.window, layer.stride), layer.padding)

    def text(self, step: Any, indent: str) -> list[str]:
        return [f"{indent}    q12'(p, p') = {self.factor_text(step)} sum_(d, d' in {window_text(step.window)}) "
                f"q12(s p + d, s p' + d'), s = {list(step.stride)}, {PADDING_TEXT[step.padding]};  t12' likewise"]

    def latex(self, step: Any) -> list[str]:
        factor = rf"\frac{{1}}{{{math.prod(step.window) ** 2}}} "
        return [rf"q_{{12}}'(p, p') &= {factor}\sum_{{d, d'}} q_{{12}}(s p + d, s p' + d')"
                rf" \quad \text{{({step.padding})}}\\"]

    def factor_text(self, step: Any) -> str:
        return f"1/{math.prod(step.window) ** 2}"

    def summary(self, step: Any) -> dict:
        return {"window": list(step.window), "stride": list(step.stride), "padding": step.padding}


def pool_step(layer: Any, kind: str) -> SpatialStep:  # layer: an AvgPool, or sum_pool.py's SumPool
    """The SpatialStep of a pooling layer (window, stride, padding; no kernel expressions)."""
    from ntksym.symbolic.steps import SpatialStep

    stride = pool_stride(layer.window, layer.stride)
    label = f"{kind}(window={list(layer.window)}, stride={list(stride)}, padding={layer.padding})"
    return SpatialStep(layer.path, kind, label, tuple(layer.window), stride, layer.padding)


KIND = AvgPoolKind()
