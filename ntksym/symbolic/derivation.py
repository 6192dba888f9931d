"""Fold the rules over a spec's layers: Spec -> Derivation.

Repeated blocks are derived once (a `RepeatStep` holds the body and the count); activation duals are
cached per activation, so a block used many times costs one derivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ntksym.errors import DerivationError
from ntksym.spec import schema as s
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.rules import ACTIVATION_RULES
from ntksym.symbolic.rules.conv import conv_step
from ntksym.symbolic.rules.dense import dense_step, layer_norm_step
from ntksym.symbolic.rules.pooling import avg_pool_step, flatten_step, global_avg_pool_step
from ntksym.symbolic.spatial_plan import spatial_plan
from ntksym.symbolic.state import symbol_for, t11, t12
from ntksym.symbolic.steps import EntrywiseStep, RepeatStep, ResidualStep, Step
from ntksym.symbolic.values import to_sympy


@dataclass(frozen=True)
class Derivation:
    """The layerwise NNGP/NTK recursion of a spec, as SymPy expressions."""

    spec: s.Spec
    steps: tuple[Step, ...]

    @property
    def hyperparameters(self) -> dict[str, float]:
        return self.spec.hyperparameter_values

    @property
    def symbols(self) -> dict[str, sp.Symbol]:
        return {name: symbol_for(name) for name in self.hyperparameters}

    def text(self) -> str:
        from ntksym.symbolic.report import derivation_text

        return derivation_text(self)

    def latex(self) -> str:
        from ntksym.symbolic.report import derivation_latex

        return derivation_latex(self)

    def to_dict(self) -> dict:
        from ntksym.symbolic.report import derivation_dict

        return derivation_dict(self)

    def __str__(self) -> str:
        return self.text()

    def fixed_points(self, **hyperparameter_overrides: float):
        """Depth analysis at the spec's values (or overrides): q*, chi_1, c*, chi_c, xi_q, xi_c, phase."""
        from ntksym.symbolic.fixed_points import fixed_points

        return fixed_points(self, **hyperparameter_overrides)

    def edge_of_chaos(self, b_std: float | None = None, **hyperparameter_overrides: float):
        """The critical w_std (chi_1 = 1) at b_std (default: the spec's)."""
        from ntksym.symbolic.fixed_points import edge_of_chaos

        return edge_of_chaos(self, b_std, **hyperparameter_overrides)

    def critical_curve(self, b_values, **hyperparameter_overrides: float):
        """The edge of chaos w_std(b_std) for each of b_values (NaN where chi_1 never reaches 1)."""
        from ntksym.symbolic.fixed_points import critical_curve

        return critical_curve(self, b_values, **hyperparameter_overrides)


def derive(spec: s.Spec) -> Derivation:
    """Derive the layerwise kernel recursions of `spec`."""
    _check_widths(spec)
    steps = _derive_layers(spec.layers, spec.parameterization)
    spatial_plan(spec, steps)  # shapes of conv / pooling layers: a DerivationError if they do not fit
    return Derivation(spec, steps)


def _derive_layers(layers: tuple[s.Layer, ...], parameterization: str) -> tuple[Step, ...]:
    return tuple(_derive_layer(layer, parameterization) for layer in layers)


def _derive_layer(layer: s.Layer, parameterization: str) -> Step:
    if isinstance(layer, s.Dense):
        return dense_step(layer, parameterization)
    if isinstance(layer, s.Activation):
        dual = activation_dual(layer)
        return EntrywiseStep(layer.path, _activation_label(layer), dual.nngp, dual.ntk_factor * t12,
                             dual.nngp_diag, dual.ntk_factor_diag * t11, dual=dual, gap=dual.nngp_gap)
    if isinstance(layer, s.Repeat):
        return RepeatStep(layer.path, to_sympy(layer.count), _derive_layers(layer.layers, parameterization))
    if isinstance(layer, s.Residual):
        return ResidualStep(layer.path, to_sympy(layer.scale), _derive_layers(layer.layers, parameterization))
    if isinstance(layer, s.LayerNorm):
        return layer_norm_step(layer)
    if isinstance(layer, s.Conv):
        return conv_step(layer, parameterization)
    if isinstance(layer, s.AvgPool):
        return avg_pool_step(layer)
    if isinstance(layer, s.GlobalAvgPool):
        return global_avg_pool_step(layer)
    if isinstance(layer, s.Flatten):
        return flatten_step(layer)
    raise DerivationError(f"{layer.path}: no kernel rule for {type(layer).__name__}")


@lru_cache(maxsize=256)
def activation_dual(act: s.Activation) -> Dual:
    """The dual of one activation: a named rule, or the expression engine for `{expr: ...}`."""
    if act.name == "expr":
        from ntksym.symbolic.engine import expression_dual

        return expression_dual(act.expr, act)
    return ACTIVATION_RULES[act.name](act)


def _activation_label(act: s.Activation) -> str:
    if act.name == "expr":
        return f"activation {act.expr!r}"
    params = ", ".join(f"{k}={list(v) if isinstance(v, tuple) else v}" for k, v in act.params)
    return f"{act.name}({params})" if params else act.name


def _check_widths(spec: s.Spec) -> None:
    """Standard parameterization: a dense layer's NTK needs its fan-in, the previous dense width."""
    if spec.parameterization != "standard":
        return
    state = {"known": True, "seen_dense": False}

    def walk(layers: tuple[s.Layer, ...], passes: int = 1) -> None:
        for _ in range(passes):
            for layer in layers:
                if isinstance(layer, s.Dense):
                    if state["seen_dense"] and not state["known"]:
                        raise DerivationError(
                            f"{layer.path}: the standard parameterization's NTK depends on the fan-in, but the "
                            "dense layer before it has no `width`; give every hidden dense layer a width")
                    state["seen_dense"], state["known"] = True, layer.width is not None
                elif isinstance(layer, (s.Repeat, s.Residual)):
                    walk(layer.layers, passes=2 if isinstance(layer, s.Repeat) else 1)

    walk(spec.layers)
