"""An activation's dual as vectorised numpy functions, for the depth analysis.

Closed-form parts are lambdified (from DERIVED SymPy expressions, never from user text);
`GaussianExpectation` nodes are evaluated by the panel quadrature of `gauss_quadrature`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ntksym.depth import gauss_quadrature as gq
from ntksym.errors import DerivationError
from ntksym.symbolic.dual import Dual, GaussianExpectation, GaussianExpectationDiag
from ntksym.symbolic.state import q11, q12, q22

ArrayFn = Callable[..., np.ndarray]
_STATE = (q11, q12, q22)


def _lambdify(args: tuple, expr: sp.Expr) -> ArrayFn:
    return sp.lambdify(args, expr, modules="numpy")


def _node_fn(node: sp.Function) -> ArrayFn:
    """A numeric function of (q11, q12, q22) for one quadrature node."""
    f, g = (_lambdify((lam.variables[0],), lam.expr) for lam in node.args[:2])
    moments = [_lambdify(_STATE, a) for a in node.args[2:]]
    if isinstance(node, GaussianExpectationDiag):
        return lambda a, b, c: gq.expect_same(f, g, moments[0](a, b, c))
    return lambda a, b, c: gq.expect_pair(f, g, *(m(a, b, c) for m in moments))


def compile_expr(expr: sp.Expr) -> ArrayFn:
    """`expr` in q11, q12, q22 (and quadrature nodes) as a function of numpy arrays."""
    nodes = sorted(expr.atoms(GaussianExpectation, GaussianExpectationDiag), key=sp.default_sort_key)
    dummies = [sp.Dummy(f"E{i}") for i in range(len(nodes))]
    outer = _lambdify(_STATE + tuple(dummies), expr.xreplace(dict(zip(nodes, dummies, strict=True))))
    node_fns = [_node_fn(node) for node in nodes]

    def evaluate(a, b=0.0, c=0.0) -> np.ndarray:
        a, b, c = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, b, c)))
        with np.errstate(all="ignore"):
            out = outer(a, b, c, *(fn(a, b, c) for fn in node_fns))
        return np.broadcast_to(np.asarray(out, dtype=float), a.shape)

    return evaluate


def substitute(expr: sp.Expr, values: Mapping[sp.Symbol, float], what: str) -> sp.Expr:
    """Put hyperparameter values into `expr`; refuse any symbol other than the state's."""
    out = expr.xreplace({k: sp.Float(v) for k, v in values.items()})
    free = {s for s in out.free_symbols if s not in _STATE}
    for node in out.atoms(sp.Lambda):
        free -= set(node.variables)
    if free:
        names = ", ".join(sorted(str(s) for s in free))
        raise DerivationError(f"{what}: no value for {names}; give it under `hyperparameters`")
    return out


@dataclass(frozen=True)
class NumericDual:
    """E over a Gaussian at equal variances q, correlation c: what the mean-field maps need.

    V(q) = E[phi(u)^2], D(q) = E[phi'(u)^2], C(q, c) = E[phi(u) phi(v)], Cp(q, c) = E[phi'(u) phi'(v)],
    dV(q) = dV/dq (Poole et al. 2016: the slope of the length map is w^2 dV/dq).
    """

    V: ArrayFn
    D: ArrayFn
    C: ArrayFn
    Cp: ArrayFn
    dV: ArrayFn

    @classmethod
    def from_dual(cls, dual: Dual, values: Mapping[sp.Symbol, float], what: str) -> NumericDual:
        nngp_diag = substitute(dual.nngp_diag, values, what)
        V = compile_expr(nngp_diag)
        D = compile_expr(substitute(dual.ntk_factor_diag, values, what))
        C2 = compile_expr(substitute(dual.nngp, values, what))
        Cp2 = compile_expr(substitute(dual.ntk_factor, values, what))
        return cls(
            V, D, lambda q, c: C2(q, c * q, q), lambda q, c: Cp2(q, c * q, q), _derivative(nngp_diag, V)
        )


def _derivative(nngp_diag: sp.Expr, V: ArrayFn) -> ArrayFn:
    """dV/dq: symbolic where V is closed form; the density-derivative identity for one quadrature
    node E[f(u)^2]; otherwise a Richardson-extrapolated central difference."""
    if not nngp_diag.has(GaussianExpectationDiag):
        return compile_expr(sp.diff(nngp_diag, q11))
    if (
        isinstance(nngp_diag, GaussianExpectationDiag)
        and nngp_diag.args[0] == nngp_diag.args[1]
        and nngp_diag.args[2] == q11
    ):
        lam = nngp_diag.args[0]
        f = _lambdify((lam.variables[0],), lam.expr)
        return lambda q: gq.expect_score(f, q)

    def central(q):
        q = np.maximum(np.asarray(q, dtype=float), 1e-8)
        h = 1e-3 * q
        d1 = (V(q + h) - V(q - h)) / (2 * h)
        d2 = (V(q + h / 2) - V(q - h / 2)) / h
        return (4 * d2 - d1) / 3

    return central
