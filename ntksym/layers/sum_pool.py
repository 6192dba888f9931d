"""`sum_pool`: window sums over the spatial axes (neural-tangents' `SumPool`).

Kernel: Sigma'(p, p') = sum_{d, d' in window} Sigma(s p + d, s p' + d'), the NTK likewise (no weights):
|w|^2 times avg_pool's map, since avg_pool divides by the full window at the edges too (SAME pads with
zeros, CIRCULAR wraps). Needs every pixel pair (full mode).
Finite network: the sum of the window's pixels (its functions are copied into generated modules, where
preludes/network.py's helpers sit beside them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ntksym.layers.avg_pool import POOL_FIELDS, AvgPoolKind
from ntksym.lazy import _net_check_rank, _net_out_dims, _net_taps


@dataclass(frozen=True)
class SumPool:
    kind: ClassVar[str] = "sum_pool"
    window: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: str = "VALID"
    path: str = field(default="", compare=False)


def _net_sum_pool_shape(shape, rec):
    _net_check_rank(shape, rec[1], "sum_pool")
    return _net_out_dims(shape[:-1], rec[1], rec[2], rec[3]) + shape[-1:]


def _net_sum_pool_apply(h, rec):
    return sum(a for _, a in _net_taps(h, rec[1], rec[2], rec[3]))


class SumPoolKind(AvgPoolKind):
    key = "sum_pool"
    doc = "window sums over the spatial axes"
    fields = POOL_FIELDS
    kernel_helpers = '''
def _sum_pool(state, window, stride, padding):
    """Window sums: |w|^2 times the window means of every kernel of the state."""
    size = float(np.prod(window)) ** 2
    pooled = _avg_pool(state, window, stride, padding)
    return _State(*(a * size for a in pooled[:6]), pooled.fan_in)
'''
    network_functions = (_net_sum_pool_shape, _net_sum_pool_apply)

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        from ntksym.layers.base import pool_stride

        return SumPool(values["window"], pool_stride(values["window"], values["stride"]), values["padding"],
                       path=where)

    def factor_text(self, step: Any) -> str:
        return ""

    def latex(self, step: Any) -> list[str]:
        return [rf"q_{{12}}'(p, p') &= \sum_{{d, d'}} q_{{12}}(s p + d, s p' + d') \quad \text{{({step.padding})}}\\"]


KIND = SumPoolKind()
