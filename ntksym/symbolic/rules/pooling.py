"""Pooling and flattening: linear maps of the pixel-pair covariances, the same for NNGP and NTK.

- avg_pool: Sigma'(p, p') = 1/|w|^2 * sum_{d, d' in window} Sigma(s p + d, s p' + d'); SAME pads with zeros
  and still divides by the full window size (neural-tangents' `normalize_edges=False`), CIRCULAR wraps.
- global_avg_pool: Sigma' = 1/P^2 * sum_{p, p'} Sigma(p, p') (Novak et al. 2019, section 3.2, "GAP").
- flatten: a dense layer after it sees 1/P * sum_p Sigma(p, p), so flatten maps the state to that mean
  of the pixel diagonal (Novak et al. 2019, eq. 8, the "FC readout"; neural-tangents' `Flatten`).
The parameterless maps give Theta' the same way (no new weights: Jacot et al. 2018).
"""

from __future__ import annotations

from ntksym.spec.schema import AvgPool, Flatten, GlobalAvgPool
from ntksym.symbolic.steps import SpatialStep


def avg_pool_step(layer: AvgPool) -> SpatialStep:
    stride = tuple(layer.stride) if layer.stride is not None else tuple(layer.window)
    label = f"avg_pool(window={list(layer.window)}, stride={list(stride)}, padding={layer.padding})"
    return SpatialStep(layer.path, "avg_pool", label, tuple(layer.window), stride, layer.padding)


def global_avg_pool_step(layer: GlobalAvgPool) -> SpatialStep:
    return SpatialStep(layer.path, "global_avg_pool", "global_avg_pool")


def flatten_step(layer: Flatten) -> SpatialStep:
    return SpatialStep(layer.path, "flatten", "flatten")
