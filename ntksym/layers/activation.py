"""`activation`: an elementwise nonlinearity, named (SPEC_FORMAT.md's table) or `{expr: ...}`.

The YAML forms (`relu`, `{name: erf, a: 2}`, `{expr: "..."}`) are read by spec/load.py; the duals come
from symbolic/rules (named) or the expression engine (`expr`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ntksym.layers.base import LayerKind, Lowering

if TYPE_CHECKING:
    from ntksym.spec.schema import Activation


class ActivationKind(LayerKind):
    key = "activation"
    doc = "elementwise nonlinearity: a name, {name: ..., params} or {expr: ...}"
    gaussian_input = True
    depth_analysed = True

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.duals import activation_dual
        from ntksym.symbolic.state import t11, t12
        from ntksym.symbolic.steps import EntrywiseStep

        dual = activation_dual(layer)
        return EntrywiseStep(layer.path, label(layer), dual.nngp, dual.ntk_factor * t12, dual.nngp_diag,
                             dual.ntk_factor_diag * t11, dual=dual, gap=dual.nngp_gap, kind=self.key)

    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """The dual: E[phi(u)^2] on the diagonal, E[phi(u) phi(v)] for the pair, slope E[phi'(u) phi'(v)]
        (Price's theorem; Poole et al. 2016)."""
        from ntksym.depth.maps import entrywise_map

        return entrywise_map(step.nngp, step.nngp_diag, step.dual.ntk_factor, ctx, step.dual.ntk_factor_diag)

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        return ("act", lower.activation(layer))

    def describe(self, layer: Any, describe_body: Callable) -> str:
        return layer.name if layer.name != "expr" else f"expr({layer.expr})"


def label(act: Activation) -> str:
    if act.name == "expr":
        return f"activation {act.expr!r}"
    params = ", ".join(f"{k}={list(v) if isinstance(v, tuple) else v}" for k, v in act.params)
    return f"{act.name}({params})" if params else act.name


KIND = ActivationKind()
