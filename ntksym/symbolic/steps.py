"""What a derivation is made of: one step per layer, repeats and residual blocks nest.

An `EntrywiseStep` maps each pair's state (q11, q12, q22, t12, g12) to new cross values (q12', t12', and
g12' where it has a rule) and each input's own (q11, t11) to (q11', t11'): every layer of a
fully-connected network is of this kind.
A `SpatialStep` (conv, avg_pool, global_avg_pool, flatten) acts on pixel-by-pixel covariances; on a
spatial state the entrywise steps act pixel pair by pixel pair (docs/architectures.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ntksym.symbolic.dual import Dual


@dataclass(frozen=True)
class EntrywiseStep:
    path: str  # key path in the spec, e.g. "layers[0].repeat.layers[1].activation"
    label: str  # "dense(w_std=sigma_w, b_std=sigma_b)", "relu", ...
    nngp: sp.Expr  # q12' in q11, q12, q22, t12, fan_in, hyperparameters
    ntk: sp.Expr  # t12'
    nngp_diag: sp.Expr  # q11' in q11, t11, fan_in, hyperparameters
    ntk_diag: sp.Expr  # t11'
    width: sp.Expr | None = None  # the fan_in of the next layer, where this layer sets one
    dual: Dual | None = field(default=None, compare=False)  # for activations: how it was derived
    gap: sp.Expr | None = None  # the new correlation gap g12' where the layer has a stable rule (gap.py)
    kind: str = ""  # the layer's YAML key (ntksym.layers.LAYERS)


@dataclass(frozen=True)
class RepeatStep:
    kind: ClassVar[str] = "repeat"
    path: str
    count: sp.Expr  # an Integer, or a hyperparameter's symbol
    body: tuple[Step, ...]
    rolled: bool = False  # identical consecutive blocks written out in the spec, rolled into this loop


@dataclass(frozen=True)
class ResidualStep:
    """y = x + scale * block(x): the block's kernels add to the skip's, scaled by scale^2."""

    kind: ClassVar[str] = "residual"
    path: str
    scale: sp.Expr
    body: tuple[Step, ...]


@dataclass(frozen=True)
class BranchesStep:
    """The input through every path (`()`: the identity), merged by `merge` (ntksym/layers/branches.py).

    `channels[i]`: path i's output channels where its layers fix them (None: the input's, or not given);
    `fan_path`: the path whose fan-in the state keeps after a sum or prod (one that sets it, if any)."""

    kind: ClassVar[str] = "branches"
    path: str
    merge: str  # sum | concat | prod
    paths: tuple[tuple[Step, ...], ...]
    channels: tuple[sp.Expr | None, ...] = ()
    fan_path: int = 0

    @property
    def body(self) -> tuple[Step, ...]:
        """Every path's steps, one after another (what `iter_steps` descends into)."""
        return tuple(step for path in self.paths for step in path)


@dataclass(frozen=True)
class SpatialStep:
    """A layer that mixes pixels: a linear map of the pixel-pair covariances, then (conv) an affine map.

    kind: the layer's YAML key (conv, avg_pool, sum_pool, ...; ntksym.layers.LAYERS). For conv, `nngp`/`ntk` are the affine map applied
    to the patch averages A(q12), A(t12) (written q12, t12), with `fan_in` standing for
    channels * filter size (the standard parameterization's fan-in of a convolution).
    """

    path: str
    kind: str
    label: str
    window: tuple[int, ...] = ()  # conv filter or pooling window, one entry per spatial axis
    stride: tuple[int, ...] = ()
    padding: str = "VALID"
    nngp: sp.Expr | None = None  # conv only: q12' in the patch averages q12, t12 and fan_in
    ntk: sp.Expr | None = None
    width: sp.Expr | None = None  # conv: the channels of its output (the next layer's fan-in)


Step = EntrywiseStep | RepeatStep | ResidualStep | BranchesStep | SpatialStep


def iter_steps(steps: tuple[Step, ...]) -> Iterator[Step]:
    """Every step, depth first, descending into repeats and residual blocks once."""
    for step in steps:
        yield step
        yield from iter_steps(getattr(step, "body", ()))


def iter_spatial(steps: tuple[Step, ...]) -> Iterator[SpatialStep]:
    """Every spatial step, in order, descending into repeats and residual blocks once."""
    return (step for step in iter_steps(steps) if isinstance(step, SpatialStep))
