"""The validated, immutable form of a spec (SPEC_FORMAT.md, version 1).

A number field holds a float or a `Ref` to a hyperparameter; nothing here is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Ref:
    """A use of a named hyperparameter where a number is expected."""

    name: str

    def __str__(self) -> str:
        return self.name


Number = float | Ref
Count = int | Ref


@dataclass(frozen=True)
class Dense:
    kind: ClassVar[str] = "dense"  # the YAML key: ntksym.layers.LAYERS[kind]
    w_std: Number = 1.0
    b_std: Number | None = 0.0  # None: no bias at all
    width: Count | None = None
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity: a named one with parameters, or a user expression."""

    kind: ClassVar[str] = "activation"  # the YAML key: ntksym.layers.LAYERS[kind]
    name: str  # "relu", ..., or "expr" for {expr: "..."}
    params: tuple[tuple[str, Any], ...] = ()  # for "expr": the spec's hyperparameters (name, value)
    expr: str | None = None
    path: str = field(default="", compare=False)

    def param(self, key: str) -> Any:
        return dict(self.params)[key]


@dataclass(frozen=True)
class Repeat:
    kind: ClassVar[str] = "repeat"  # the YAML key: ntksym.layers.LAYERS[kind]
    count: Count
    layers: tuple[Layer, ...]
    path: str = field(default="", compare=False)
    rolled: bool = field(default=False, compare=False)  # written out in the spec, rolled by spec/rolling.py


@dataclass(frozen=True)
class Residual:
    kind: ClassVar[str] = "residual"  # the YAML key: ntksym.layers.LAYERS[kind]
    layers: tuple[Layer, ...]
    scale: Number = 1.0
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class Branches:
    """The input through every path (`()` is the identity); outputs summed, concatenated along channels or
    multiplied elementwise (`merge`: sum | concat | prod)."""

    kind: ClassVar[str] = "branches"  # the YAML key: ntksym.layers.LAYERS[kind]
    merge: str
    paths: tuple[tuple[Layer, ...], ...]
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class LayerNorm:
    kind: ClassVar[str] = "layer_norm"  # the YAML key: ntksym.layers.LAYERS[kind]
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class Conv:
    kind: ClassVar[str] = "conv"  # the YAML key: ntksym.layers.LAYERS[kind]
    filter: tuple[int, ...]
    stride: tuple[int, ...] = (1,)
    padding: str = "SAME"
    w_std: Number = 1.0
    b_std: Number | None = 0.0
    channels: Count | None = None
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class AvgPool:
    kind: ClassVar[str] = "avg_pool"  # the YAML key: ntksym.layers.LAYERS[kind]
    window: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: str = "VALID"
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class GlobalAvgPool:
    kind: ClassVar[str] = "global_avg_pool"  # the YAML key: ntksym.layers.LAYERS[kind]
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class Flatten:
    kind: ClassVar[str] = "flatten"  # the YAML key: ntksym.layers.LAYERS[kind]
    path: str = field(default="", compare=False)


# A layer is any of these or a kind defined in its own module under ntksym/layers (sum_pool, dropout, ...):
# every layer dataclass has `kind` and `path`.
Layer = Dense | Activation | Repeat | Residual | LayerNorm | Conv | AvgPool | GlobalAvgPool | Flatten


@dataclass(frozen=True)
class Spec:
    """A whole architecture. `sha256` is the hash of the canonical form, used to key caches."""

    name: str
    layers: tuple[Layer, ...]
    parameterization: str = "ntk"
    description: str = ""
    input_shape: tuple[int, ...] | None = None
    hyperparameters: tuple[tuple[str, float], ...] = ()
    source: str = field(default="<string>", compare=False)
    sha256: str = field(default="", compare=False)

    @property
    def hyperparameter_values(self) -> dict[str, float]:
        return dict(self.hyperparameters)
