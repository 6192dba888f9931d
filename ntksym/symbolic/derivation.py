"""Fold the rules over a spec's layers: Spec -> Recursion.

Each layer's rule comes from its kind (ntksym.layers); repeated blocks are derived once (a `RepeatStep`
holds the body and the count); activation duals are cached per activation, so a block used many times
costs one derivation.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.errors import DerivationError
from ntksym.layers import kind_of
from ntksym.spec import schema as s
from ntksym.symbolic.spatial_plan import spatial_plan
from ntksym.symbolic.state import symbol_for
from ntksym.symbolic.steps import Step


@dataclass(frozen=True)
class Recursion:
    """The layerwise NNGP/NTK recursion of a spec, as SymPy expressions: what codegen, the depth analysis and
    the reports read. `ntksym.derive` returns it as a `Derivation`, which adds the reports and the analysis."""

    spec: s.Spec
    steps: tuple[Step, ...]

    @property
    def hyperparameters(self) -> dict[str, float]:
        return self.spec.hyperparameter_values

    @property
    def symbols(self) -> dict[str, sp.Symbol]:
        return {name: symbol_for(name) for name in self.hyperparameters}


def derive_recursion(spec: s.Spec) -> Recursion:
    """Derive the layerwise kernel recursions of `spec`."""
    _check_widths(spec)
    steps = derive_layers(spec.layers, spec.parameterization)
    spatial_plan(spec, steps)  # shapes of conv / pooling layers: a DerivationError if they do not fit
    return Recursion(spec, steps)


def derive_layers(layers: tuple[s.Layer, ...], parameterization: str) -> tuple[Step, ...]:
    def body(children):
        return derive_layers(children, parameterization)

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
