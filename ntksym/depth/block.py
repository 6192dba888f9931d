"""Find the block whose depth behaviour the mean-field analysis describes.

`find_block`: a `repeat` whose body is dense + activation (in either order), or several identical such
pairs; without a repeat, a run of at least two identical dense + activation pairs (closed forms,
`fixed_points.Analysis`). `find_composite`: any other `repeat` whose layers all have a mean-field map
(dense, conv, activation, layer_norm, residual: their kinds' `mean_field` hooks), analysed by composing
the maps (`composite.CompositeAnalysis`). Anything else is refused with a `DerivationError`
saying why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from ntksym.depth.maps import SWEEP_B, SWEEP_W
from ntksym.errors import DerivationError
from ntksym.layers import LAYERS, kind_of, map_layers, walk_layers
from ntksym.spec import schema as s
from ntksym.symbolic.derivation import derive_layers
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.steps import EntrywiseStep, RepeatStep, Step, iter_steps
from ntksym.symbolic.values import to_sympy

if TYPE_CHECKING:
    from ntksym.symbolic.derivation import Recursion

NOT_ANALYSED = (
    "the depth analysis (Poole et al. 2016; Schoenholz et al. 2017) covers a repeated block of "
    "dense, conv, activation and layer_norm layers and residual blocks of them"
)


@dataclass(frozen=True)
class Block:
    """One dense + activation pair of the repeated block: q -> w^2 V(q) + b^2 (pre-activations)."""

    path: str  # the repeat's (or the first pair's) key path
    dense: s.Dense
    activation: s.Activation
    dual: Dual
    w: sp.Expr  # w_std: a hyperparameter's symbol or a number
    b: sp.Expr  # b_std (0 when the layer has no bias)
    depth: sp.Expr  # how many pairs: the repeat count times pairs per body, or the run's length

    @property
    def has_bias(self) -> bool:
        return self.dense.b_std is not None


def find_block(derivation: Recursion) -> Block:
    """The analysed block of a derivation, or a DerivationError saying why there is none."""
    reasons: list[str] = []
    for step in derivation.steps:
        if isinstance(step, RepeatStep):
            pairs, why = _pairs(step.body)
            if pairs:
                return _block(derivation.spec, step.path, pairs[0], step.count * len(pairs))
            reasons.append(f"{step.path}: {why}")
    run = _longest_run(derivation.steps)
    if len(run) >= 2:
        return _block(derivation.spec, run[0][0].path, run[0], sp.Integer(len(run)))
    detail = "; ".join(reasons) if reasons else "the spec has no repeat of dense + activation"
    raise DerivationError(
        f"not analysed: {detail}. {NOT_ANALYSED} (e.g. `- repeat: 8` with "
        "`layers: [{dense: ...}, {activation: tanh}]`)"
    )


def _kind(step: Step) -> str:
    return step.kind


def _pairs(body: tuple[Step, ...]) -> tuple[list[tuple[EntrywiseStep, EntrywiseStep]], str]:
    kinds = [_kind(step) for step in body]
    others = sorted({k for k in kinds if k not in ("dense", "activation")})
    if others:
        return [], f"its body has {', '.join(others)} (not analysed)"
    if len(body) % 2 or not kinds:
        return [], "its body is not a sequence of dense + activation pairs"
    first = kinds[0]
    pairs: list = []  # of (dense, activation): EntrywiseSteps, by their kinds
    for i in range(0, len(body), 2):
        if kinds[i] != first or kinds[i + 1] == first:
            return [], "its body does not alternate dense and activation layers"
        pair = (body[i], body[i + 1]) if first == "dense" else (body[i + 1], body[i])
        pairs.append(pair)
    if any(not _same(p, pairs[0]) for p in pairs[1:]):
        return [], "its dense + activation pairs differ (each pair would have its own fixed point)"
    return pairs, ""


def _same(p: tuple[EntrywiseStep, EntrywiseStep], r: tuple[EntrywiseStep, EntrywiseStep]) -> bool:
    return all(a.nngp == b.nngp and a.nngp_diag == b.nngp_diag for a, b in zip(p, r, strict=True))


def _longest_run(steps: tuple[Step, ...]) -> list[tuple[EntrywiseStep, EntrywiseStep]]:
    best: list = []
    for start in range(len(steps) - 1):
        run: list = []
        i = start
        while i + 1 < len(steps) and _kind(steps[i]) == "dense" and _kind(steps[i + 1]) == "activation":
            pair: tuple = (steps[i], steps[i + 1])  # (dense, activation): EntrywiseSteps, by their kinds
            if run and not _same(pair, run[0]):
                break
            run.append(pair)
            i += 2
        if len(run) > len(best):
            best = run
    return best


def _layer_at(layers: tuple[s.Layer, ...], path: str) -> s.Layer | None:
    return next((layer for layer in walk_layers(layers) if layer.path == path), None)


def _block(spec: s.Spec, path: str, pair: tuple[EntrywiseStep, EntrywiseStep], depth: sp.Expr) -> Block:
    dense, act = _layer_at(spec.layers, pair[0].path), _layer_at(spec.layers, pair[1].path)
    if not isinstance(dense, s.Dense) or not isinstance(act, s.Activation) or pair[1].dual is None:
        raise DerivationError(f"{path}: internal error: cannot locate the block's layers in the spec")
    b = sp.Integer(0) if dense.b_std is None else to_sympy(dense.b_std)
    return Block(path, dense, act, pair[1].dual, to_sympy(dense.w_std), b, depth)


@dataclass(frozen=True)
class CompositeBlock:
    """A repeated block holding layer norm, residual blocks or convolutions (or dense + activation in
    any arrangement the pair finder refuses), analysed by composing its layers' mean-field maps
    (depth/maps.py).

    `steps`: the body derived again with the swept w_std / b_std as symbols (`W_SYM`, `B_SYM`) in
    every weight layer (dense, conv) whose w_std (b_std) is the first weight layer's, and rotated to
    end with the body's last weight layer at its top level: the analysed state is that layer's output
    (the pre-activation, as for a dense + activation block); without one at the top level (a body of
    residual blocks) it is the block's output."""

    path: str
    steps: tuple[Step, ...]
    w: sp.Expr  # the first weight layer's w_std, as in the spec
    b: sp.Expr  # its b_std (0 without a bias)
    has_bias: bool
    weight_path: str  # the first weight layer's key path
    state_path: str  # the layer whose output is the analysed state ("" : the block's output)
    kinds: tuple[str, ...]  # every layer kind in the body, depth first, once each
    convs: tuple[s.Conv, ...]  # the body's convolutions (for the boundary notes)
    depth: sp.Expr
    swept_w: tuple[str, ...]  # key paths of the layers whose w_std the sweep sets
    swept_b: tuple[str, ...]

    @property
    def activation_names(self) -> tuple[str, ...]:
        names = [step.label for step in iter_steps(self.steps) if isinstance(step, EntrywiseStep)
                 and step.kind == "activation"]
        return tuple(dict.fromkeys(names))


def find_composite(derivation: Recursion) -> CompositeBlock:
    """The first top-level `repeat` whose body's kinds all have a mean-field map, or a DerivationError."""
    reasons: list[str] = []
    for step in derivation.steps:
        if not isinstance(step, RepeatStep):
            continue
        repeat = _layer_at(derivation.spec.layers, step.path)
        if not isinstance(repeat, s.Repeat):
            continue
        layers = tuple(walk_layers(repeat.layers))
        missing = sorted({lay.kind for lay in layers if not LAYERS[lay.kind].depth_analysed})
        if missing:
            reasons.append(f"{step.path}: its body has {', '.join(missing)} (not analysed)")
            continue
        weights = [lay for lay in layers if kind_of(lay).has_weights and hasattr(lay, "w_std")]
        if not weights:
            reasons.append(f"{step.path}: its body has no dense or conv layer (no w_std, b_std to analyse)")
            continue
        first = weights[0]
        swept_w = tuple(lay.path for lay in weights if lay.w_std == first.w_std)
        swept_b = tuple(lay.path for lay in weights if lay.b_std == first.b_std)

        def sweep(layer, swept_w=swept_w, swept_b=swept_b):
            changes: dict = {}
            if layer.path in swept_w:
                changes["w_std"] = s.Ref(SWEEP_W)
            if layer.path in swept_b:
                changes["b_std"] = s.Ref(SWEEP_B)
            return dataclasses.replace(layer, **changes) if changes else layer

        body = derive_layers(map_layers(repeat.layers, sweep), derivation.spec.parameterization)
        top = [i for i, st in enumerate(body) if kind_of(st).has_weights and st.kind in ("dense", "conv")]
        state_path = ""
        if top:
            i = top[-1]
            body = body[i + 1:] + body[: i + 1]
            state_path = body[-1].path
        b = sp.Integer(0) if first.b_std is None else to_sympy(first.b_std)
        kinds = tuple(dict.fromkeys(lay.kind for lay in layers))
        convs = tuple(lay for lay in layers if isinstance(lay, s.Conv) and lay.kind == "conv")
        return CompositeBlock(step.path, body, to_sympy(first.w_std), b, first.b_std is not None, first.path,
                              state_path, kinds, convs, step.count, swept_w, swept_b)
    detail = "; ".join(reasons) if reasons else "the spec has no repeat of analysed layers"
    raise DerivationError(f"not analysed: {detail}. {NOT_ANALYSED}")
