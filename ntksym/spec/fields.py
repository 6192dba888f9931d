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

# Names a hyperparameter may not take: they are the generated code's own identifiers.
RESERVED_NAMES = frozenset(
    "x x1 x2 u v q q11 q12 q22 t t11 t12 t22 fan_in jax jnp np lax kernel predict init apply "
    "empirical_ntk state dtype self pi E I e i tile_size progress out devices hyperparameters".split()
)
