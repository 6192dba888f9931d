"""`global_avg_pool`: the mean over every spatial position (Novak et al. 2019, section 3.2, "GAP").

Kernel: Sigma' = 1/P^2 sum_{p, p'} Sigma(p, p'), the NTK likewise; the state is fully connected afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class GlobalAvgPoolKind(LayerKind):
    key = "global_avg_pool"
    doc = "mean over all spatial positions"
    on_pixels = mixes_pixels = ends_spatial = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.GlobalAvgPool(path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.steps import SpatialStep

        return SpatialStep(layer.path, self.key, self.key)

    def spatial_shape(self, step: Any, dims: tuple[int, ...]) -> tuple[int, ...] | None:
        return None

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        return [f"{indent}s = _{self.key}(s)  # {writer.comment(step)}"]

    def text(self, step: Any, indent: str) -> list[str]:
        return [f"{indent}    q12' = 1/P^2 sum_(p, p') q12(p, p') over the P pixels;  t12' likewise "
                "(fully connected from here)"]

    def latex(self, step: Any) -> list[str]:
        return [r"q_{12}' &= \frac{1}{P^2} \sum_{p, p'} q_{12}(p, p') \\"]


KIND = GlobalAvgPoolKind()
