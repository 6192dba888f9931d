"""Mean-field maps of one pass through a repeated block of any analysed layer kinds, composed numerically.

The state of one input pair with equal variances is (q, k) = (q11 = q22, q12) (Poole et al. 2016;
Schoenholz et al. 2017). Each analysed layer kind gives, through its `mean_field` hook
(ntksym/layers/<kind>.py), a map

  (q, k) -> (q', k', s'),   q' = its diagonal rule at q, k' = its pair rule at (q, k, q), s' = dk'/dk,

built from the kernel recursion the derivation already holds (`EntrywiseStep.nngp`, `nngp_diag`), so
the analysis iterates the same rules the generated code does. The slope s' is what chi_1 is made of:
along the diagonal q does not depend on k, so for a chain of layers dk_out/dk_in is the product of the
layers' slopes, and for a residual block y = x + a f(x) it is 1 + a^2 (the branch's slope) (Yang &
Schoenholz 2017, "Mean field residual networks: on the edge of chaos"). Layer norm divides the pair
covariance by sqrt(q11 q22) (slope 1/q); an activation's slope is E[phi'(u) phi'(v)] (Price's
theorem); a dense or conv layer's is w^2 (a conv on translation-invariant inputs: the patch average of
a constant covariance is that constant; Xiao et al. 2018, "Dynamical isometry and a mean field theory
of CNNs").

The swept w_std and b_std of the block's weight layers are the symbols `W_SYM`, `B_SYM`: they stay
arguments of the compiled maps, so a phase diagram evaluates one compiled map on arrays of (w, b).
Expressions come from the derivation (never from user text) and are compiled with `sympy.lambdify`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sympy as sp

from ntksym.depth.numeric_dual import _node_fn
from ntksym.errors import DerivationError
from ntksym.symbolic.dual import GaussianExpectation, GaussianExpectationDiag
from ntksym.symbolic.state import q11, q12, q22, symbol_for

SWEEP_W, SWEEP_B = "__sweep_w_std__", "__sweep_b_std__"  # reserved: a spec using them is refused
W_SYM, B_SYM = symbol_for(SWEEP_W), symbol_for(SWEEP_B)
_STATE = (q11, q12, q22)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


class StepMap(Protocol):
    def run(self, q: np.ndarray, k: np.ndarray, w: np.ndarray, b: np.ndarray, slope: bool = True) -> Arrays:
        """(q', k', dk'/dk) elementwise (the slope is nan when `slope` is False)."""
        ...


@dataclass(frozen=True)
class MapContext:
    """Hyperparameter values (without the sweep symbols) and where the maps come from (for errors)."""

    values: Mapping[sp.Symbol, float]
    what: str


Compiled = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (q, k, w, b)


def compile_map(expr: sp.Expr, ctx: MapContext) -> Compiled:
    """`expr` in q11, q12, q22, the sweep symbols (and quadrature nodes), at q11 = q22 = q, q12 = k."""
    expr = sp.sympify(expr).xreplace(
        {s: sp.Float(v) for s, v in ctx.values.items() if s not in (W_SYM, B_SYM)}
    )
    free = set(expr.free_symbols) - {*_STATE, W_SYM, B_SYM}
    for node in expr.atoms(sp.Lambda):
        free -= set(node.variables)
    if free:
        names = ", ".join(sorted(str(s) for s in free))
        raise DerivationError(f"{ctx.what}: no value for {names}; give it under `hyperparameters`")
    nodes = sorted(expr.atoms(GaussianExpectation, GaussianExpectationDiag), key=sp.default_sort_key)
    if any(n.has(W_SYM) or n.has(B_SYM) for n in nodes):
        raise DerivationError(f"{ctx.what}: an activation depends on the swept w_std or b_std")
    dummies = [sp.Dummy(f"E{i}") for i in range(len(nodes))]
    outer = sp.lambdify(
        (*_STATE, W_SYM, B_SYM, *dummies), expr.xreplace(dict(zip(nodes, dummies, strict=True))), modules="numpy"
    )
    node_fns = [_node_fn(node) for node in nodes]

    def evaluate(q, k, w, b) -> np.ndarray:
        q, k, w, b = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (q, k, w, b)))
        with np.errstate(all="ignore"):
            out = outer(q, k, q, w, b, *(fn(q, k, q) for fn in node_fns))
        return np.broadcast_to(np.asarray(out, dtype=float), q.shape)

    if not node_fns or expr.has(W_SYM) or expr.has(B_SYM):
        return evaluate

    def unique(q, k, w, b) -> np.ndarray:
        """Quadrature on each distinct (q, k) once: a phase diagram's grid repeats them row after row."""
        q, k = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(k, dtype=float))
        shape = np.broadcast(q, w, b).shape
        q, k = np.broadcast_to(q, shape), np.broadcast_to(k, shape)
        pairs, inverse = np.unique(np.stack([q.ravel(), k.ravel()], axis=1), axis=0, return_inverse=True)
        if len(pairs) == q.size:
            return evaluate(q, k, w, b)
        values = evaluate(pairs[:, 0], pairs[:, 1], 0.0, 0.0)
        return values[np.asarray(inverse).reshape(-1)].reshape(shape)

    return unique


@dataclass(frozen=True)
class EntrywiseMap:
    """A layer acting on each pair's covariances: diagonal rule, pair rule and the pair rule's slope."""

    diag: Compiled
    cross: Compiled
    slope: Compiled
    slope_diag: Compiled  # the slope at k = q (one input twice: a 1-D expectation where slope is 2-D)

    def run(self, q, k, w, b, slope: bool = True) -> Arrays:
        same = np.shape(q) == np.shape(k) and np.array_equal(q, k)
        qq = self.diag(q, q, w, b)
        if not slope:
            s = np.full(np.broadcast(q, k, w, b).shape, np.nan)
        else:
            s = (self.slope_diag if same else self.slope)(q, k, w, b)
        return qq, (qq if same else self.cross(q, k, w, b)), s


def entrywise_map(nngp: sp.Expr, nngp_diag: sp.Expr, slope: sp.Expr, ctx: MapContext,
                  slope_diag: sp.Expr | None = None) -> EntrywiseMap:
    """The map of an entrywise rule: q12' = nngp, q11' = nngp_diag, slope = d nngp / d q12 (and the slope
    at q12 = q11 = q22, `slope_diag`, where it has its own 1-D form; default: `slope`)."""
    s = compile_map(slope, ctx)
    return EntrywiseMap(compile_map(nngp_diag, ctx), compile_map(nngp, ctx), s,
                        s if slope_diag is None else compile_map(slope_diag, ctx))


@dataclass(frozen=True)
class ChainMap:
    """Layers one after another: the slopes multiply (q does not depend on k along the diagonal)."""

    maps: tuple[StepMap, ...]

    def run(self, q, k, w, b, slope: bool = True) -> Arrays:
        s = np.ones(np.broadcast(q, k, w, b).shape)
        for m in self.maps:
            q, k, sj = m.run(q, k, w, b, slope)
            s = s * sj
        return q, k, s


@dataclass(frozen=True)
class ResidualMap:
    """y = x + scale * f(x), the branch independent of the skip: q' = q + scale^2 q_f, k' = k + scale^2 k_f,
    slope 1 + scale^2 (the branch's slope) (Yang & Schoenholz 2017)."""

    body: StepMap
    scale2: float

    def run(self, q, k, w, b, slope: bool = True) -> Arrays:
        qf, kf, sf = self.body.run(q, k, w, b, slope)
        return q + self.scale2 * qf, k + self.scale2 * kf, 1.0 + self.scale2 * sf


def number(expr: sp.Expr, ctx: MapContext, what: str) -> float:
    value = sp.sympify(expr).xreplace({s: sp.Float(v) for s, v in ctx.values.items()})
    if value.free_symbols:
        raise DerivationError(f"{what}: no value for {value}; add it to `hyperparameters`")
    return float(value)
