"""Spec -> the finite network's architecture: plain tuple records plus SymPy activation functions.

The records are what `prelude_network.py` interprets (in the runtime and, printed as a literal, in every
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

Spatial states are (n, [height,] width, channels); dense layers, activations and layer_norm act per pixel
(over the channel axis), as on the analytic side (ntksym/codegen/prelude_spatial.py).

Hyperparameters are resolved to numbers here (defaults from the spec, or overrides). Hidden dense layers
take the layer's `width` (default 512), convolutions their `channels` (default 512); the output layer
(the last dense layer, when it sits at the top level after every other dense layer) keeps its own
width, default 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.errors import DerivationError, InputError
from ntksym.spec import schema as s
from ntksym.symbolic.rules.numerical import FUNCTIONS
from ntksym.symbolic.state import symbol_for, x

DEFAULT_WIDTH = 512
DEFAULT_OUTPUT_WIDTH = 1


@dataclass(frozen=True)
class Architecture:
    """The records and the activations they index (SymPy expressions in `ntksym.symbolic.state.x`)."""

    records: tuple
    activations: tuple[sp.Expr, ...]
    parameterization: str


def resolve(value, hp: dict[str, float]) -> float:
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
    activations: list[sp.Expr] = []
    output = _output_layer(spec.layers)

    def lower(layers: tuple[s.Layer, ...]) -> tuple:
        out = []
        for layer in layers:
            if isinstance(layer, s.Dense):
                is_output = layer is output
                default = DEFAULT_OUTPUT_WIDTH if is_output else DEFAULT_WIDTH
                width = default if layer.width is None else _count(layer.width, hp, f"{layer.path}.width")
                b_std = None if layer.b_std is None else resolve(layer.b_std, hp)
                out.append(("dense", resolve(layer.w_std, hp), b_std, width, is_output))
            elif isinstance(layer, s.Activation):
                activations.append(activation_expression(layer, hp))
                out.append(("act", len(activations) - 1))
            elif isinstance(layer, s.LayerNorm):
                out.append(("layer_norm",))
            elif isinstance(layer, s.Repeat):
                out.append(("repeat", _count(layer.count, hp, f"{layer.path}.repeat"), lower(layer.layers)))
            elif isinstance(layer, s.Residual):
                out.append(("residual", resolve(layer.scale, hp), lower(layer.layers)))
            elif isinstance(layer, s.Conv):
                channels = (
                    DEFAULT_WIDTH if layer.channels is None
                    else _count(layer.channels, hp, f"{layer.path}.channels")
                )
                b_std = None if layer.b_std is None else resolve(layer.b_std, hp)
                out.append(("conv", resolve(layer.w_std, hp), b_std, channels, tuple(layer.filter),
                            tuple(layer.stride), layer.padding))
            elif isinstance(layer, s.AvgPool):
                stride = tuple(layer.window) if layer.stride is None else tuple(layer.stride)
                out.append(("avg_pool", tuple(layer.window), stride, layer.padding))
            elif isinstance(layer, s.GlobalAvgPool):
                out.append(("global_avg_pool",))
            elif isinstance(layer, s.Flatten):
                out.append(("flatten",))
            else:
                raise DerivationError(
                    f"{layer.path}: the finite network for `{type(layer).__name__}` layers is not supported yet"
                )
        return tuple(out)

    return Architecture(lower(spec.layers), tuple(activations), spec.parameterization)


def _output_layer(layers: tuple[s.Layer, ...]) -> s.Dense | None:
    """The last top-level dense layer, if no dense layer hides in a later repeat or residual block."""
    for layer in reversed(layers):
        if isinstance(layer, s.Dense):
            return layer
        if isinstance(layer, (s.Repeat, s.Residual)) and _has_dense(layer.layers):
            return None
    return None


def _has_dense(layers: tuple[s.Layer, ...]) -> bool:
    return any(
        isinstance(layer, s.Dense) or (isinstance(layer, (s.Repeat, s.Residual)) and _has_dense(layer.layers))
        for layer in layers
    )


def activation_expression(act: s.Activation, hp: dict[str, float]) -> sp.Expr:
    """phi(x) of an activation as a SymPy expression (SPEC_FORMAT.md's table), parameters as numbers."""
    if act.name == "expr":
        return expression_activation(act.expr, hp)
    p = {key: _number(value, hp) for key, value in act.params}
    relu = sp.Max(x, 0)
    name = act.name
    if name in FUNCTIONS:
        return FUNCTIONS[name][0]
    if name == "rectified_monomial":
        return sp.Heaviside(x) if int(p["degree"]) == 0 else relu ** int(p["degree"])
    if name == "hermite":
        n = int(p["degree"])
        return sp.expand(sp.hermite_prob(n, x)) / sp.sqrt(sp.factorial(n))
    table = {
        "identity": lambda: x,
        "relu": lambda: relu,
        "leaky_relu": lambda: relu + p["alpha"] * sp.Min(x, 0),
        "abrelu": lambda: p["a"] * sp.Min(x, 0) + p["b"] * relu,
        "abs": lambda: sp.Abs(x),
        "step": lambda: sp.Heaviside(x),
        "erf": lambda: p["a"] * sp.erf(p["b"] * x) + p["c"],
        "gelu": lambda: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
        "sin": lambda: p["a"] * sp.sin(p["b"] * x + p["c"]),
        "cos": lambda: p["a"] * sp.cos(p["b"] * x + p["c"]),
        "exp": lambda: p["a"] * sp.exp(p["b"] * x),
        "gaussian": lambda: p["a"] * sp.exp(p["b"] * x**2),
        "monomial": lambda: x ** int(p["degree"]),
        "polynomial": lambda: sum((c * x**i for i, c in enumerate(p["coef"])), sp.Integer(0)),
    }
    if name not in table:
        raise DerivationError(f"{act.path}: no finite-network form for the activation `{name}` yet")
    return table[name]()


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
