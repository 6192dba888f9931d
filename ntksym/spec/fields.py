"""Field descriptions: one source of truth for validation and the JSON Schema.

Each layer kind lists its own fields (ntksym/layers), each activation its parameters (ntksym/activations.py)."""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One field of a layer or activation. `kind` names a checker in `load.py`."""

    kind: str  # real | nonneg | optional_nonneg | count | degree | shape | padding | real_list | layers | paths | choice | bool
    default: object = REQUIRED
    help: str = ""
    minimum: float | None = None  # bounds of a number, checked on literals and hyperparameter values
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = ()  # kind "choice": the words allowed


W_STD = Field("nonneg", 1.0, "weight standard deviation")
B_STD = Field("optional_nonneg", 0.0, "bias standard deviation; null means no bias")

PADDINGS = ("SAME", "VALID", "CIRCULAR")


# Names a hyperparameter may not take: they are the generated code's own identifiers (the arguments and
# helpers of the `_cross_k` / `_diag_k` / `_affine_k` functions a hyperparameter becomes a local of, the
# module's public names) or the expression grammar's. `tests/test_hardening2.py` checks this list against
# the identifiers of generated modules.
RESERVED_NAMES = frozenset(
    "x x1 x2 u v q q11 q12 q22 t t11 t12 t22 g12 fan_in hp s skip same jax jnp jsp np lax kernel "
    "kernel_with_diagonals predict max_learning_rate init apply empirical_ntk state dtype self pi E I e i "
    "tile_size progress out devices hyperparameters exp log sqrt sin cos tanh sigmoid erf erfc abs sign "
    "Heaviside Max Min Piecewise SPEC_NAME SPEC_SHA256 NTKSYM_VERSION SPEC_DESCRIPTION PARAMETERIZATION "
    "INPUT_SHAPE DTYPE HYPERPARAMETERS FLOATS_PER_PAIR XLA_OPTIONS ARCHITECTURE SPATIAL_MODE NamedTuple".split()
)
# attention's sums over pixel pairs: arguments of its generated `_affine_k` (ntksym/layers/attention.py)
RESERVED_NAMES = RESERVED_NAMES | {"s_qq", "s_qt"}
