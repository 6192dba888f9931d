"""`global_sum_pool`: the sum over every spatial position (neural-tangents' `GlobalSumPool`).

Kernel: Sigma' = sum_{p, p'} Sigma(p, p') over the P pixels, the NTK likewise: P^2 times
global_avg_pool's mean. The state is fully connected afterwards (fan_in stays = channels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ntksym.layers.global_avg_pool import GlobalAvgPoolKind
from ntksym.lazy import jnp


@dataclass(frozen=True)
class GlobalSumPool:
    kind: ClassVar[str] = "global_sum_pool"
    path: str = field(default="", compare=False)


def _net_global_sum_pool_shape(shape, rec):
    return shape[-1:]


def _net_global_sum_pool_apply(h, rec):
    return jnp.sum(h, axis=tuple(range(1, h.ndim - 1)))


class GlobalSumPoolKind(GlobalAvgPoolKind):
    key = "global_sum_pool"
    doc = "sum over all spatial positions"
    kernel_helpers = '''
def _global_sum_pool(state):
    """Sum over every pixel pair: P^2 times the mean (a full-mode q11 holds P^2 numbers per input)."""
    pairs = float(np.prod(state.q11.shape[1:]))
    pooled = _global_avg_pool(state)
    return _State(*(a * pairs for a in pooled[:6]), pooled.fan_in)
'''
    network_functions = (_net_global_sum_pool_shape, _net_global_sum_pool_apply)

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return GlobalSumPool(path=where)

    def text(self, step: Any, indent: str) -> list[str]:
        return [f"{indent}    q12' = sum_(p, p') q12(p, p') over the P pixels;  t12' likewise "
                "(fully connected from here)"]

    def latex(self, step: Any) -> list[str]:
        return [r"q_{12}' &= \sum_{p, p'} q_{12}(p, p') \\"]


KIND = GlobalSumPoolKind()
