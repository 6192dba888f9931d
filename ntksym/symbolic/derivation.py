"""Fold the rules over a spec's layers: Spec -> Derivation.

Each layer's rule comes from its kind (ntksym.layers); repeated blocks are derived once (a `RepeatStep`
holds the body and the count); activation duals are cached per activation, so a block used many times
costs one derivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from ntksym.errors import DerivationError
from ntksym.layers import kind_of
from ntksym.spec import schema as s
from ntksym.symbolic.rules import activation_dual  # noqa: F401 (re-exported)
from ntksym.symbolic.spatial_plan import spatial_plan
from ntksym.symbolic.state import symbol_for
from ntksym.symbolic.steps import Step

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

    from ntksym.symbolic.fixed_points import EdgeOfChaos, FixedPoints


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

    def fixed_points(self, **hyperparameter_overrides: float) -> FixedPoints:
        """Depth analysis at the spec's values (or overrides): q*, chi_1, c*, chi_c, xi_q, xi_c, phase."""
        from ntksym.symbolic.fixed_points import fixed_points

        return fixed_points(self, **hyperparameter_overrides)

    def edge_of_chaos(self, b_std: float | None = None, **hyperparameter_overrides: float) -> EdgeOfChaos:
        """The critical w_std (chi_1 = 1) at b_std (default: the spec's)."""
        from ntksym.symbolic.fixed_points import edge_of_chaos

        return edge_of_chaos(self, b_std, **hyperparameter_overrides)

    def critical_curve(self, b_values: ArrayLike, **hyperparameter_overrides: float) -> np.ndarray:
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
    def body(children):
        return _derive_layers(children, parameterization)

    return tuple(kind_of(layer).derive(layer, parameterization, body) for layer in layers)


def _check_widths(spec: s.Spec) -> None:
    """Standard parameterization: a dense layer's NTK needs its fan-in, the previous dense width."""
    if spec.parameterization != "standard":
        return
    state = {"known": True, "seen_dense": False}

    def walk(layers: tuple[s.Layer, ...], passes: int = 1) -> None:
        for _ in range(passes):
            for layer in layers:
                if layer.kind == "dense":
                    assert isinstance(layer, s.Dense)
                    if state["seen_dense"] and not state["known"]:
                        raise DerivationError(
                            f"{layer.path}: the standard parameterization's NTK depends on the fan-in, but the "
                            "dense layer before it has no `width`; give every hidden dense layer a width")
                    state["seen_dense"], state["known"] = True, layer.width is not None
                elif layer.kind == "branches":
                    continue  # each path starts from the same input: the shape walk (spatial_plan.py) checks them
                elif kind_of(layer).combinator:
                    walk(kind_of(layer).children(layer), passes=2 if layer.kind == "repeat" else 1)

    walk(spec.layers)
