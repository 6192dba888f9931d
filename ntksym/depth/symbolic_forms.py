"""The depth quantities as SymPy expressions in the block's hyperparameters, where closed forms exist.

Length map q -> w^2 V(q) + b^2 and chi_1 = w^2 D(q*) (Poole et al. 2016); the correlation map and
chi_c = w^2 E[phi'(u) phi'(v)] at c* (Schoenholz et al. 2017). q* is solved by SymPy only when the
length map is a polynomial of degree <= 2 in q (e.g. ReLU: q* = b^2 / (1 - w^2/2)); otherwise q* stays
a symbol and is found numerically. With b = 0 and phi(0) = 0, q* = 0 is stable while w^2 D(0) < 1, so
the edge of chaos is w^2 = 1 / D(0) = 1 / phi'(0)^2 (erf: pi/4; tanh: 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ntksym.depth.block import Block
from ntksym.symbolic.dual import GaussianExpectationDiag
from ntksym.symbolic.state import ANGLE, SQRT_DET, q11, q12, q22

Q = sp.Symbol("q", positive=True)
Q_STAR = sp.Symbol("q_star", positive=True)
C = sp.Symbol("c", real=True)
C_STAR = sp.Symbol("c_star", real=True)


@dataclass(frozen=True)
class SymbolicForms:
    """Formulas in the block's w_std (`w`) and b_std (`b`); None where SymPy finds no closed form."""

    w: sp.Expr
    b: sp.Expr
    length_map: sp.Expr  # in q
    q_star: sp.Expr | None
    chi_1: sp.Expr  # in q_* (or closed form)
    correlation_map: sp.Expr  # in c and q_*
    chi_c: sp.Expr  # in c_* and q_*
    chi_q: sp.Expr | None  # slope of the length map at q*
    w_std_critical: sp.Expr | None  # the edge of chaos, where known in closed form
    critical_only_b0: bool = False  # w_std_critical holds at b_std = 0 only

    def as_strings(self) -> dict[str, str | None]:
        return {
            k: None if v is None else (v if isinstance(v, str) else str(v)) for k, v in self.__dict__.items()
        }


def display_symbols(block: Block) -> tuple[sp.Expr, sp.Expr]:
    """w, b as symbols: the hyperparameter's where the spec names one, else `w_std` / `b_std`."""
    w = block.w if isinstance(block.w, sp.Symbol) else sp.Symbol("w_std", positive=True)
    if not block.has_bias:
        return w, sp.Integer(0)
    return w, block.b if isinstance(block.b, sp.Symbol) else sp.Symbol("b_std", real=True)


def explicit_angles(expr: sp.Expr) -> sp.Expr:
    """Stable forms (atan2, clamped sqrt) as arccos and plain square roots, so SymPy can simplify them."""
    return expr.subs({ANGLE: sp.acos(q12 / sp.sqrt(q11 * q22)), SQRT_DET: sp.sqrt(q11 * q22 - q12**2)})


def at_zero_variance(expr: sp.Expr) -> sp.Expr:
    """A diagonal expression at q11 = 0: E[f(u) g(u)] with u = 0 is f(0) g(0)."""

    def zero(node):
        f, g = node.args[0], node.args[1]
        return f.expr.subs(f.variables[0], 0) * g.expr.subs(g.variables[0], 0)

    replaced = expr.replace(lambda e: isinstance(e, GaussianExpectationDiag), zero)
    return sp.simplify(replaced.subs(q11, 0))


@lru_cache(maxsize=64)
def symbolic_forms(block: Block) -> SymbolicForms:
    w, b = display_symbols(block)
    dual = block.dual
    V = dual.nngp_diag.subs(q11, Q)
    length_map = w**2 * V + b**2
    q_star = _solve_length_map(length_map)
    qs = q_star if q_star is not None else Q_STAR
    chi_1 = w**2 * dual.ntk_factor_diag.subs(q11, qs)
    pair = {q11: Q_STAR, q22: Q_STAR}
    corr = (w**2 * explicit_angles(dual.nngp).subs(q12, C * Q_STAR).subs(pair) + b**2) / Q_STAR
    chi_c = w**2 * explicit_angles(dual.ntk_factor).subs(q12, C_STAR * Q_STAR).subs(pair)
    chi_q = None if V.has(GaussianExpectationDiag) else w**2 * sp.diff(V, Q).subs(Q, qs)
    crit, only_b0 = _critical(block, b, chi_1, q_star, w)
    return SymbolicForms(w, b, length_map, q_star, chi_1, corr, chi_c, chi_q, crit, only_b0)


def _solve_length_map(length_map: sp.Expr) -> sp.Expr | None:
    """q* = B / (1 - A) when the length map is affine, A q + B (piecewise-linear phi, identity)."""
    if length_map.has(GaussianExpectationDiag) or not length_map.is_polynomial(Q):
        return None
    poly = sp.Poly(length_map, Q)
    if poly.degree() != 1:
        return None
    A, B = poly.all_coeffs()
    return B / (1 - A)


def _linear_root(expr: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    """The root of expr = 0 when expr is affine in x."""
    if not expr.is_polynomial(x):
        return None
    poly = sp.Poly(expr, x)
    if poly.degree() != 1:
        return None
    a, b = poly.all_coeffs()
    return -b / a


def _critical(block: Block, b, chi_1: sp.Expr, q_star: sp.Expr | None, w) -> tuple[sp.Expr | None, bool]:
    """(w_std at the edge of chaos, whether that holds at b_std = 0 only)."""
    if q_star is not None:  # e.g. ReLU: chi_1 = w^2/2 whatever b (q* diverges there unless b = 0)
        w2 = sp.Symbol("W2", positive=True)
        root = _linear_root(chi_1.subs(w, sp.sqrt(w2)) - 1, w2)
        if root is not None and not root.has(Q_STAR) and root.is_positive:
            return sp.sqrt(root), False
    if at_zero_variance(block.dual.nngp_diag) == 0:
        D0 = at_zero_variance(block.dual.ntk_factor_diag)
        if D0.is_positive:
            return sp.sqrt(1 / D0), True
    return None, False
