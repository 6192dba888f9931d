"""`flatten`: (n, pixels..., C) -> (n, P C), the "FC readout" of Novak et al. 2019 (eq. 8).

Kernel: a dense layer after it sees 1/P sum_p Sigma(p, p), so flatten maps the state to that mean of
the pixel diagonal, and fan_in' = P C. Needs only the pixel diagonal (diagonal mode, unless another
layer mixes pixels).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class FlattenKind(LayerKind):
    key = "flatten"
    doc = "concatenate the spatial positions' features"
    on_pixels = ends_spatial = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.Flatten(path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.steps import SpatialStep

        return SpatialStep(layer.path, self.key, self.key)

    def spatial_shape(self, step: Any, dims: tuple[int, ...]) -> tuple[int, ...] | None:
        return None

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        return [f"{indent}s = _flatten(s, {writer.full})  # {writer.comment(step)}"]

    def text(self, step: Any, indent: str) -> list[str]:
        return [f"{indent}    q12' = 1/P sum_p q12(p, p) over the P pixels;  t12' likewise; "
                "fan_in' = P C (fully connected from here)"]

    def latex(self, step: Any) -> list[str]:
        return [r"q_{12}' &= \frac{1}{P} \sum_{p} q_{12}(p, p) \\"]


KIND = FlattenKind()
