"""The format's field tables: one source of truth for validation and the JSON Schema."""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One field of a layer or activation. `kind` names a checker in `load.py`."""

    kind: str  # real | nonneg | optional_nonneg | count | degree | shape | padding | real_list
    default: object = REQUIRED
    help: str = ""


W_STD = Field("nonneg", 1.0, "weight standard deviation")
B_STD = Field("optional_nonneg", 0.0, "bias standard deviation; null means no bias")

LAYER_FIELDS: dict[str, dict[str, Field]] = {
    "dense": {"w_std": W_STD, "b_std": B_STD, "width": Field("count", None, "finite network's width")},
    "activation": {},  # a name, {name: ..., params}, or {expr: ...}: see ACTIVATIONS
    "repeat": {"repeat": Field("count", REQUIRED, "how many times"), "layers": Field("layers")},
    "residual": {"layers": Field("layers"), "scale": Field("real", 1.0, "y = x + scale * block(x)")},
    "layer_norm": {},
    "conv": {
        "filter": Field("shape", REQUIRED, "[k] or [kh, kw]"),
        "stride": Field("shape", None, "default 1"),
        "padding": Field("padding", "SAME"),
        "w_std": W_STD,
        "b_std": B_STD,
        "channels": Field("count", None, "finite network's channels"),
    },
    "avg_pool": {
        "window": Field("shape", REQUIRED),
        "stride": Field("shape", None, "default: the window"),
        "padding": Field("padding", "VALID"),
    },
    "global_avg_pool": {},
    "flatten": {},
}

PADDINGS = ("SAME", "VALID", "CIRCULAR")


def _abc(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> dict[str, Field]:
    return {"a": Field("real", a), "b": Field("real", b), "c": Field("real", c)}


ACTIVATIONS: dict[str, dict[str, Field]] = {
    "identity": {},
    "relu": {},
    "leaky_relu": {"alpha": Field("real", 0.01)},
    "abrelu": {"a": Field("real"), "b": Field("real")},
    "abs": {},
    "step": {},
    "erf": _abc(),
    "gelu": {},
    "sin": _abc(),
    "cos": _abc(),
    "exp": {"a": Field("real", 1.0), "b": Field("real", 1.0)},
    "gaussian": {"a": Field("real", 1.0), "b": Field("real", -1.0)},
    "monomial": {"degree": Field("degree")},
    "rectified_monomial": {"degree": Field("degree")},
    "polynomial": {"coef": Field("real_list")},
    "hermite": {"degree": Field("degree")},
    "tanh": {},
    "sigmoid": {},
    "softplus": {},
    "silu": {},
    "elu": {},
    "selu": {},
}

# Names a hyperparameter may not take: they are the generated code's own identifiers (the arguments and
# helpers of the `_cross_k` / `_diag_k` / `_affine_k` functions a hyperparameter becomes a local of, the
# module's public names) or the expression grammar's. `tests/test_hardening2.py` checks this list against
# the identifiers of generated modules.
RESERVED_NAMES = frozenset(
    "x x1 x2 u v q q11 q12 q22 t t11 t12 t22 g12 fan_in hp s skip same jax jnp jsp np lax kernel "
    "kernel_with_diagonals predict max_learning_rate init apply empirical_ntk state dtype self pi E I e i "
    "tile_size progress out devices hyperparameters exp log sqrt sin cos tanh sigmoid erf erfc abs sign "
    "Heaviside Max Min Piecewise SPEC_NAME SPEC_SHA256 NTKSYM_VERSION SPEC_DESCRIPTION PARAMETERIZATION "
    "INPUT_SHAPE DTYPE HYPERPARAMETERS FLOATS_PER_PAIR ARCHITECTURE SPATIAL_MODE".split()
)


def reserved_reason(name: str) -> str | None:
    """Why `name` cannot be an identifier in generated code, or None if it can.

    The one rule for every user-chosen name that reaches generated text (today: hyperparameter names):
    Python keywords (soft ones too), builtins (a local `len` or `float` would shadow the generated code's
    own calls), the generated code's names (RESERVED_NAMES) and the spec format's own words."""
    import builtins
    import keyword

    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "a Python keyword"
    if name in RESERVED_NAMES:
        return "a name the generated code uses"
    if hasattr(builtins, name):
        return "a Python builtin"
    if name in ACTIVATIONS or name in LAYER_FIELDS:
        return "a word of the spec format"
    return None
