"""The dual of an activation: what it does to the kernel state.

For (u, v) ~ N(0, [[q11, q12], [q12, q22]]):
  nngp = E[phi(u) phi(v)],  ntk_factor = E[phi'(u) phi'(v)]  (Jacot et al. 2018; Arora et al. 2019),
and the exact same-input forms nngp_diag, ntk_factor_diag in q11 alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.symbolic.state import q11, q12, q22


class GaussianExpectation(sp.Function):
    """E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]), evaluated by quadrature.

    Arguments: Lambda f, Lambda g, q11, q12, q22. Kept unevaluated: the code generator prints it
    as a call of the variance-fitted quadrature in the generated module.
    """

    nargs = 5

    def _sympystr(self, printer):
        f, g = self.args[0], self.args[1]
        v = sp.Symbol("v")
        return f"E[({printer.doprint(f.expr)}) * ({printer.doprint(g.expr.subs(g.variables[0], v))})]"

    def _latex(self, printer):
        f, g = self.args[0], self.args[1]
        return (r"\mathbb{E}\left[\left(" + printer.doprint(f.expr) + r"\right)\left("
                + printer.doprint(g.expr.subs(g.variables[0], sp.Symbol("v"))) + r"\right)\right]")


class GaussianExpectationDiag(sp.Function):
    """E[f(u) g(u)] for u ~ N(0, q): the same-input form of `GaussianExpectation`."""

    nargs = 3

    def _sympystr(self, printer):
        return f"E[({printer.doprint(self.args[0].expr)}) * ({printer.doprint(self.args[1].expr)})]"

    def _latex(self, printer):
        return (r"\mathbb{E}\left[\left(" + printer.doprint(self.args[0].expr) + r"\right)\left("
                + printer.doprint(self.args[1].expr) + r"\right)\right]")


@dataclass(frozen=True)
class Dual:
    """An activation's effect on the state, as SymPy expressions, and how it was obtained."""

    nngp: sp.Expr  # in q11, q12, q22
    ntk_factor: sp.Expr  # in q11, q12, q22
    nngp_diag: sp.Expr  # in q11
    ntk_factor_diag: sp.Expr  # in q11
    method: str  # "closed form" | "Wick moments" | "quadrature" | ...
    source: str = ""  # the paper or derivation the formula comes from
    error: float | None = None  # stated error bound (relative) where not exact
    clamps_correlation: bool = False  # True where the formula itself is valid for any rounded q12 (angles)
    # sqrt(nngp_diag(q11) nngp_diag(q22)) - nngp without cancellation, in q11, q22, g12, ANGLE (gap.py);
    # None: the generated code recomputes the gap from the new covariances
    nngp_gap: sp.Expr | None = None

    @property
    def is_closed_form(self) -> bool:
        return not (self.nngp.has(GaussianExpectation) or self.ntk_factor.has(GaussianExpectation))


def diagonal_of(expr: sp.Expr) -> sp.Expr:
    """The same-input form of an expression without angles: q12 = q22 = q11."""
    return sp.simplify(expr.subs({q12: q11, q22: q11}))
