"""Spec -> the finite network's architecture: plain tuple records plus SymPy activation functions.

The records are what `preludes/network.py` interprets (in the runtime and, printed as a literal, in every
generated module), so the finite network is defined once:

  ("dense", w_std, b_std or None, width, is_output)   an affine layer; `width` is its output width
  ("act", k)                                          the k-th activation function
  ("layer_norm",)                                     x / sqrt(mean(x^2)) over features
  ("repeat", count, body)                             body applied count times, fresh weights each time
  ("residual", scale, body)                           x + scale * body(x)
  ("conv", w_std, b_std or None, channels, filter, stride, padding)   a convolution over the spatial axes
  ("avg_pool", window, stride, padding)               window means (SAME divides by the full window)
  ("global_avg_pool",)                                mean over the spatial axes
  ("flatten",)                                        (n, ..., C) -> (n, P * C)
  ("branches", merge, paths)                          every path (records) from the input; sum, concat, prod
  (kind, ...)                                         a kind defined in its own module (ntksym/layers),
                                                      e.g. ("sum_pool", window, stride, padding) or
                                                      ("attention", heads, mechanism, linear_scaling,
                                                      w_q w_k, w_v w_o, b_std|None, channels, key_channels,
                                                      value_channels)

Spatial states are (n, [height,] width, channels); dense layers, activations and layer_norm act per pixel
(over the channel axis), as on the analytic side (ntksym/codegen/preludes/spatial.py).

Each kind writes its record (`LayerKind.record`). Hyperparameters are resolved to numbers here
(defaults from the spec, or overrides). Hidden dense layers
take the layer's `width` (default 512), convolutions their `channels` (default 512); the output layer
(the last dense layer, when it sits at the top level after every other dense layer) keeps its own
width, default 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.activations import ACTIVATIONS
from ntksym.errors import DerivationError, InputError
from ntksym.layers import kind_of, walk_layers
from ntksym.spec import schema as s
from ntksym.symbolic.state import symbol_for, x


@dataclass(frozen=True)
class Architecture:
    """The records and the activations they index (SymPy expressions in `ntksym.symbolic.state.x`)."""

    records: tuple
    activations: tuple[sp.Expr, ...]
    parameterization: str


def resolve(value: s.Number, hp: dict[str, float]) -> float:
    """A spec number (float or hyperparameter reference) as a float."""
    if isinstance(value, s.Ref):
        return float(hp[value.name])
    return float(value)


def _count(value, hp: dict[str, float], what: str) -> int:
    number = resolve(value, hp)
    if number != int(number) or number < 0:
        raise InputError(f"{what} must be a whole number >= 0, got {number}")
    return int(number)


def build_architecture(spec: s.Spec, hyperparameters: dict[str, float] | None = None) -> Architecture:
    """The records of `spec`'s finite network; `hyperparameters` override the spec's values."""
    hp = spec.hyperparameter_values
    unknown = set(hyperparameters or {}) - set(hp)
    if unknown:
        raise InputError(f"unknown hyperparameters {sorted(unknown)}; the spec defines {sorted(hp)}")
    hp.update({k: float(v) for k, v in (hyperparameters or {}).items()})
    lower = RecordLowering(hp, _output_layer(spec.layers))
    return Architecture(lower(spec.layers), tuple(lower.activations), spec.parameterization)


class RecordLowering:
    """What a layer kind's `record` needs: `lower(children)` for combinators, numbers resolved from
    the hyperparameters, the output layer, and the list the activations are appended to."""

    def __init__(self, hp: dict[str, float], output):
        self.hp, self.output = hp, output
        self.activations: list[sp.Expr] = []

    def __call__(self, layers: tuple[s.Layer, ...]) -> tuple:
        return tuple(kind_of(layer).record(layer, self.hp, self) for layer in layers)

    def number(self, value) -> float:
        return resolve(value, self.hp)

    def count(self, value, what: str) -> int:
        return _count(value, self.hp, what)

    def activation(self, layer: s.Activation) -> int:
        """The index of the layer's activation function in the architecture's list."""
        self.activations.append(activation_expression(layer, self.hp))
        return len(self.activations) - 1


def _output_layer(layers: tuple[s.Layer, ...]) -> s.Dense | None:
    """The last top-level dense layer, if no dense layer hides in a later repeat or residual block."""
    for layer in reversed(layers):
        if layer.kind == "dense":
            assert isinstance(layer, s.Dense)
            return layer
        if kind_of(layer).combinator and any(inner.kind == "dense" for inner in walk_layers(kind_of(layer).children(layer))):
            return None
    return None


def activation_expression(act: s.Activation, hp: dict[str, float]) -> sp.Expr:
    """phi(x) of an activation as a SymPy expression (its entry in ntksym/activations.py), parameters as numbers."""
    if act.name == "expr":
        assert act.expr is not None  # the loader sets expr for every `{expr: ...}` activation
        return expression_activation(act.expr, hp)
    if act.name not in ACTIVATIONS:
        raise DerivationError(f"{act.path}: no finite-network form for the activation `{act.name}`")
    return ACTIVATIONS[act.name].function(x, **{key: _number(value, hp) for key, value in act.params})


def _number(value, hp: dict[str, float]):
    if isinstance(value, tuple):
        return tuple(_number(v, hp) for v in value)
    number = resolve(value, hp)
    return sp.Integer(int(number)) if number.is_integer() else sp.Float(number)


def expression_activation(text: str, hp: dict[str, float]) -> sp.Expr:
    """A `{expr: ...}` activation through the whitelist parser, hyperparameters replaced by their values."""
    try:
        from ntksym.spec.expressions import parse_activation
    except ImportError:
        raise DerivationError(
            "`{expr: ...}` activations need the expression parser (ntksym.spec.expressions), "
            "which this installation lacks; use a named activation"
        ) from None
    parsed = parse_activation(text, hp)
    expr = getattr(parsed, "expr", parsed)
    if not isinstance(expr, sp.Expr):
        raise DerivationError(
            f"the expression parser returned {type(parsed).__name__}, not a SymPy expression"
        )
    names = {sym.name: sym for sym in expr.free_symbols}
    replace = {names[n]: sp.Float(v) for n, v in hp.items() if n in names}
    replace.update({sym: symbol_for(n) for n, sym in names.items() if n in hp and sym not in replace})
    if "x" in names:
        replace[names["x"]] = x
    expr = expr.xreplace(replace).xreplace({symbol_for(n): sp.Float(v) for n, v in hp.items()})
    stray = expr.free_symbols - {x}
    if stray:
        raise DerivationError(
            f"activation {text!r} uses unknown names {sorted(map(str, stray))}; "
            "use `x` and the spec's hyperparameters"
        )
    return expr
