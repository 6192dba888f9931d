"""Depth analysis of a derivation: fixed points, order and chaos, the edge of chaos, the NTK at depth.

Poole et al. 2016 (length and correlation maps, chi_1), Schoenholz et al. 2017 (chi_c, depth scales
xi_q, xi_c), Jacot et al. 2019 (the NTK's freeze and chaos); formulas in `mean_field` and `ntk`.
Numbers come from bracketed root finding on the activation's dual (closed form or quadrature); the
closed forms SymPy finds are in `FixedPoints.symbolic`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from ntksym.depth import mean_field as mf
from ntksym.depth.block import Block, find_block, find_composite
from ntksym.depth.composite import CompositeAnalysis
from ntksym.depth.maps import SWEEP_B, SWEEP_W
from ntksym.depth.ntk import eoc_approach, eoc_symbolic, ntk_depth
from ntksym.depth.numeric_dual import NumericDual
from ntksym.depth.results import EDGE_RTOL, EdgeOfChaos, FixedPoints, convergence_text
from ntksym.depth.symbolic_forms import Q_STAR, symbolic_forms
from ntksym.errors import DerivationError, InputError, did_you_mean
from ntksym.symbolic.state import q11, symbol_for
from ntksym.symbolic.steps import RepeatStep

if TYPE_CHECKING:
    from ntksym.symbolic.derivation import Recursion

INFINITY_PROBES = (1e8, 1e9, 1e10)  # where the maps' limits as q -> inf are read (the end of mf.Q_GRID)
NAN = math.nan


def limit_at_infinity(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """lim f(q) as q -> inf, read off q = 1e8, 1e9, 1e10: the value where it has settled (relative
    change <= 1e-6), inf where it keeps growing (or overflows), nan otherwise."""
    with np.errstate(all="ignore"):
        v = np.asarray(f(np.array(INFINITY_PROBES)), dtype=float).reshape(-1)
    if v.size != len(INFINITY_PROBES) or np.isnan(v).any():
        return math.nan
    if np.isposinf(v[-1]):
        return math.inf
    if np.isfinite(v).all() and abs(v[-1] - v[-2]) <= 1e-6 * abs(v[-1]):
        return float(v[-1])
    if np.isfinite(v).all() and v[-1] > v[-2] > v[-3] > 0 and v[-1] / v[-2] > 1 + 1e-6:
        return math.inf
    return math.nan


def hyperparameter_values(derivation, overrides: Mapping[str, float]) -> dict[sp.Symbol, float]:
    """The spec's hyperparameter values with `overrides`, by symbol; an InputError for an unknown name."""
    values = dict(derivation.hyperparameters)
    for name, value in overrides.items():
        if name not in values:
            raise InputError(
                f"unknown hyperparameter `{name}`{did_you_mean(name, values)}; "
                f"the spec has: {', '.join(values) or 'none'}"
            )
        values[name] = float(value)
    return {symbol_for(k): v for k, v in values.items()}


def make_analysis(derivation: Recursion, overrides: Mapping[str, float]) -> Analysis | CompositeAnalysis:
    """The analysis of the spec's repeated block: `Analysis` for dense + activation pairs (closed forms where
    SymPy finds them), `CompositeAnalysis` for blocks with layer norm, residual blocks or convolutions."""
    try:
        block = find_block(derivation)
    except DerivationError as plain:
        if not any(isinstance(step, RepeatStep) for step in derivation.steps):
            raise
        if {SWEEP_W, SWEEP_B} & set(derivation.hyperparameters):
            raise DerivationError(f"hyperparameter names {SWEEP_W}, {SWEEP_B} are reserved") from plain
        composite = find_composite(derivation)
        return CompositeAnalysis(composite, hyperparameter_values(derivation, overrides))
    return Analysis(derivation, overrides, block)


class Analysis:
    """A block with hyperparameter values fixed: the numeric dual is compiled once."""

    def __init__(self, derivation, overrides: Mapping[str, float], block: Block | None = None):
        self.block: Block = find_block(derivation) if block is None else block
        self.values = hyperparameter_values(derivation, overrides)
        self.title = (
            f"{self.block.activation.name if self.block.activation.name != 'expr' else 'phi'}: {self.block.path}"
        )
        what = f"{self.block.activation.path}"
        self.nd = NumericDual.from_dual(self.block.dual, self.values, what)
        self.w = self._number(self.block.w, "w_std")
        self.b = self._number(self.block.b, "b_std")
        self.forms = symbolic_forms(self.block)

    def _number(self, expr: sp.Expr, what: str) -> float:
        value = expr.xreplace({k: sp.Float(v) for k, v in self.values.items()})
        if value.free_symbols:
            raise DerivationError(
                f"{self.block.dense.path}.{what}: no value for {value}; add it to `hyperparameters`"
            )
        return float(value)

    def check_sweepable(self) -> None:
        used = self.block.dual.nngp.free_symbols | self.block.dual.nngp_diag.free_symbols
        shared = {s for s in (self.block.w, self.block.b) if isinstance(s, sp.Symbol) and s in used}
        if shared:
            raise DerivationError(
                f"cannot sweep {', '.join(map(str, shared))}: the activation "
                f"{self.block.activation.path} depends on it too; give the dense layer its own"
            )

    def fixed_points(self, w: float | None = None, b: float | None = None) -> FixedPoints:
        w = self.w if w is None else float(w)
        b = self.b if b is None else float(b)
        w2, b2 = w * w, b * b
        chi, q, status = (float(x) for x in mf.chi_1(self.nd, np.array(w2), np.array(b2)))
        status = int(status)
        notes: list[str] = []
        if status == mf.NONE:
            notes.append(
                "the length map has no finite fixed point: q grows without bound with depth (q* = inf); "
                "chi_1 and chi_q are their limits as q -> inf, c*, chi_c and xi_c are not defined (nan)"
            )
            chi_inf = limit_at_infinity(lambda q: w2 * self.nd.D(q))
            chi_q = limit_at_infinity(lambda q: w2 * self.nd.dV(q))
            growth = limit_at_infinity(lambda q: (w2 * self.nd.V(q) + b2) / q)
            return FixedPoints(
                w,
                b,
                math.inf,
                chi_inf,
                NAN,
                NAN,
                chi_q,
                mf.depth_scale(chi_q),
                NAN,
                "no finite fixed point",
                ntk_depth("none", chi_inf, NAN, None),
                self.forms,
                self.block.path,
                tuple(notes),
                growth,
                math.inf if growth > 1 else NAN,
                "not determined (no finite fixed point)",
            )
        q_eval = q
        if status == mf.MARGINAL:
            notes.append(
                "every q is a fixed point (the length map is the identity); q* is the input's own variance"
            )
            q_eval = 1.0
        phase = "edge of chaos" if abs(chi - 1) <= EDGE_RTOL else ("ordered" if chi < 1 else "chaotic")
        chi_q = float(w2 * self.nd.dV(np.array(q_eval)))
        if status == mf.ZERO:
            chi_q = chi  # Stein: V'(0) = phi'(0)^2 + phi(0) phi''(0), and phi(0) = 0 here
            notes.append(
                "q* = 0: the signal vanishes with depth; correlations then follow the normalised map "
                "c -> E[phi(u)phi(v)] / E[phi(u)^2] as q -> 0, so c* is not defined"
            )
            c_star, chi_c = NAN, chi
        else:
            c_star = mf.solve_c_star(self.nd, w2, b2, q_eval, chi)
            chi_c = float(w2 * self.nd.Cp(q_eval, np.array(c_star)))
        eoc = (
            self._eoc_approach(w2, b2, q_eval, status)
            if phase == "edge of chaos" and status != mf.ZERO
            else None
        )
        ntk = ntk_depth(phase, chi, chi_c, eoc)
        return FixedPoints(
            w,
            b,
            NAN if status == mf.MARGINAL else q,
            chi,
            c_star,
            chi_c,
            chi_q,
            mf.depth_scale(chi_q),
            mf.depth_scale(chi_c),
            phase,
            ntk,
            self.forms,
            self.block.path,
            tuple(notes),
            convergence=convergence_text(phase, chi, c_star, chi_c, eoc),
            c_exponent=ntk.approach_exponent,
        )

    def _eoc_approach(self, w2: float, b2: float, q: float, status: int):
        dual = self.block.dual
        if status == mf.MARGINAL and b2 == 0 and dual.is_closed_form:
            w, b = self.forms.w, self.forms.b
            D1 = sp.simplify(dual.ntk_factor_diag.subs(q11, 1)).xreplace(
                {k: sp.Float(v) for k, v in self.values.items()}
            )
            corr = self.forms.correlation_map.subs({w: sp.sqrt(1 / D1), b: 0, Q_STAR: 1})
            found = eoc_symbolic(
                corr.xreplace({k: sp.Float(v) for k, v in self.values.items()}), sp.Symbol("c", real=True)
            )
            if found is not None:
                return found
        return eoc_approach(self.nd, w2, b2, q)

    @np.errstate(over="ignore", invalid="ignore")  # huge w_std / b_std: inf, reported as no fixed point
    def critical_w(self, b_values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """w_std on the edge of chaos per b_std, and chi_1 there (from the ordered side)."""
        b = np.atleast_1d(np.asarray(b_values, float))
        w2, chi = mf.critical_w2(self.nd, b * b)
        w2 = np.where(b == 0, self._exact_b0(w2), w2)
        return np.sqrt(w2), chi

    def _exact_b0(self, w2: np.ndarray) -> np.ndarray:
        """At b = 0 with phi(0) = 0, chi_1 = w^2 phi'(0)^2 exactly while q* = 0, so the ordered region
        ends at w^2 = 1 / D(0); near there chi_1 - 1 is quadratic in w^2 (tanh), which root finding
        resolves only to sqrt(eps): use the exact end where the numeric root agrees with it."""
        if float(self.nd.V(np.zeros(1))[0]) != 0.0:
            return w2
        exact = 1.0 / float(self.nd.D(np.zeros(1))[0])
        return np.where(np.abs(w2 / exact - 1) < 1e-6, exact, w2)

    def edge_of_chaos(self, b: float | None = None) -> EdgeOfChaos:
        b = self.b if b is None else float(b)
        w, chi = (float(x[0]) for x in self.critical_w([b]))
        crit = self.forms.w_std_critical
        symbolic = None if crit is None or (self.forms.critical_only_b0 and b != 0) else str(crit)
        note = ""
        if math.isnan(w):
            return EdgeOfChaos(NAN, b, NAN, symbolic, "chi_1 does not cross 1 for w_std in [0.01, 50]")
        if not math.isnan(chi) and abs(chi - 1) > 1e-6:
            note = f"the fixed point ceases to exist at this w_std (chi_1 -> {chi:.6g} there)"
        elif b != 0 and symbolic is not None and self.forms.q_star is not None:
            note = "q* grows without bound as w_std approaches this value (b_std != 0)"
        return EdgeOfChaos(w, b, chi, symbolic, note)

    @np.errstate(over="ignore", invalid="ignore")  # huge w_std / b_std: inf, reported as no fixed point
    def chi_1_grid(self, w_values: ArrayLike, b_values: ArrayLike,
                   progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """chi_1 and q* over the grid, shape (len(b_values), len(w_values)); NaN where no finite q*."""
        w2 = np.asarray(w_values, float) ** 2
        return mf.stack_rows(lambda b: mf.chi_1(self.nd, w2, np.full_like(w2, b * b)), b_values, progress)


def fixed_points(derivation: Recursion, **overrides: float) -> FixedPoints:
    return make_analysis(derivation, overrides).fixed_points()


def edge_of_chaos(derivation: Recursion, b_std: float | None = None, **overrides: float) -> EdgeOfChaos:
    analysis = make_analysis(derivation, overrides)
    analysis.check_sweepable()
    return analysis.edge_of_chaos(b_std)


def critical_curve(derivation: Recursion, b_values: ArrayLike, **overrides: float) -> np.ndarray:
    """The edge of chaos w_std(b_std) for each b_std (NaN where chi_1 never crosses 1)."""
    analysis = make_analysis(derivation, overrides)
    analysis.check_sweepable()
    return analysis.critical_w(b_values)[0]
