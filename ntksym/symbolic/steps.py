"""What a derivation is made of: one step per layer, repeats and residual blocks nest.

An `EntrywiseStep` maps each pair's state (q11, q12, q22, t12) to new cross values (q12', t12') and
each input's own (q11, t11) to (q11', t11'): every layer of a fully-connected network is of this kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class RepeatStep:
    path: str
    count: sp.Expr  # an Integer, or a hyperparameter's symbol
    body: tuple[Step, ...]


@dataclass(frozen=True)
class ResidualStep:
    """y = x + scale * block(x): the block's kernels add to the skip's, scaled by scale^2."""

    path: str
    scale: sp.Expr
    body: tuple[Step, ...]


Step = EntrywiseStep | RepeatStep | ResidualStep


def iter_entrywise(steps: tuple[Step, ...]):
    """Every entrywise step, in order, descending into repeats and residual blocks once."""
    for step in steps:
        if isinstance(step, EntrywiseStep):
            yield step
        else:
            yield from iter_entrywise(step.body)
