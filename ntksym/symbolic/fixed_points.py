"""Depth analysis of a derivation: fixed points, order and chaos, the edge of chaos, the NTK at depth.

Poole et al. 2016 (length and correlation maps, chi_1), Schoenholz et al. 2017 (chi_c, depth scales
xi_q, xi_c), Jacot et al. 2019 (the NTK's freeze and chaos); formulas in `mean_field` and `ntk_depth`.
Numbers come from bracketed root finding on the activation's dual (closed form or quadrature); the
closed forms SymPy finds are in `FixedPoints.symbolic`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from ntksym.errors import DerivationError, InputError, did_you_mean
from ntksym.symbolic import mean_field as mf
from ntksym.symbolic.depth_block import Block, find_block
from ntksym.symbolic.fixed_point_symbolic import Q_STAR, SymbolicForms, symbolic_forms
from ntksym.symbolic.ntk_depth import NTKDepth, eoc_approach, eoc_symbolic, ntk_depth
from ntksym.symbolic.numeric_dual import NumericDual
from ntksym.symbolic.state import q11, symbol_for
from ntksym.symbolic.steps import RepeatStep

if TYPE_CHECKING:
    from ntksym.symbolic.depth_composite import CompositeAnalysis
    from ntksym.symbolic.derivation import Derivation

EDGE_RTOL = 1e-9  # |chi_1 - 1| below this: the edge of chaos
PHASES = ("ordered", "chaotic", "edge of chaos", "no finite fixed point")
INFINITY_PROBES = (1e8, 1e9, 1e10)  # where the maps' limits as q -> inf are read (the end of mf.Q_GRID)
NAN = math.nan


NUMBER_FIELDS = ("q_star", "chi_1", "c_star", "chi_c", "xi_q", "xi_c", "chi_q", "w_std", "b_std", "q_growth",
                 "q_step", "c_exponent")


@dataclass(frozen=True)
class FixedPoints:
    """The depth quantities of the block at one (w_std, b_std). Every number is a float, never None:

    - q_star: the stable fixed point of the length map; 0.0 when the signal vanishes (b = 0, phi(0) = 0);
      inf when there is no finite fixed point (q grows without bound with depth); nan when every q is a
      fixed point (the length map is the identity, e.g. ReLU at w^2 = 2, b = 0).
    - chi_1: w^2 E[phi'(sqrt(q*) z)^2], always a number: without a finite fixed point it is the limit as
      q -> inf (ReLU: w^2 / 2; inf where it grows without bound, e.g. polynomial phi of degree >= 2).
    - c_star, chi_c: the stable fixed point of the correlation map and its slope there; nan where the
      correlation map is not defined (q* = 0 for c_star; no finite fixed point for both).
    - chi_q: the slope of the length map at q* (without a finite fixed point: its limit as q -> inf).
    - xi_q, xi_c: depth scales -1/log|chi_q|, -1/log|chi_c|; inf where |chi| >= 1, nan where chi is nan.
    - q_growth, q_step: without a finite fixed point, lim q'/q and lim q' - q as q -> inf (the per-layer
      growth factor and, where that is 1, the per-layer increment; inf where it grows faster); nan where
      q* is finite.
    - convergence: how correlations converge with depth, in words; c_exponent: p in 1 - c_l ~ l^-p
      where the approach is polynomial (edge of chaos; residual blocks: measured), else nan.
    - state: what q* and c* are the variance and correlation of (composed blocks; "" for dense +
      activation: the pre-activation).
    """

    w_std: float
    b_std: float
    q_star: float
    chi_1: float
    c_star: float
    chi_c: float
    chi_q: float  # slope of the length map at q*
    xi_q: float
    xi_c: float
    phase: str  # one of PHASES
    ntk: NTKDepth
    symbolic: SymbolicForms
    block: str  # key path of the analysed block
    notes: tuple[str, ...] = ()
    q_growth: float = NAN
    q_step: float = NAN
    convergence: str = ""
    c_exponent: float = NAN
    state: str = ""

    def to_dict(self) -> dict:
        """JSON-ready: numbers stay numbers; inf and nan (not JSON) become null, and `nonfinite` names
        each such field with "inf", "-inf" or "nan" (the schema: `ntksym schema --derive`)."""
        keys = ("q_star", "chi_1", "c_star", "chi_c", "xi_q", "xi_c", "phase", "chi_q", "w_std", "b_std", "block",
                "q_growth", "q_step", "c_exponent", "convergence", "state")
        out = json_numbers({k: getattr(self, k) for k in keys})
        out["notes"] = list(self.notes)
        out["ntk"] = json_numbers(self.ntk.to_dict())
        out["symbolic"] = self.symbolic.as_strings()
        return out


@dataclass(frozen=True)
class EdgeOfChaos:
    """The critical w_std (chi_1 = 1) at b_std; w_std and chi_1 are nan where chi_1 does not cross 1
    for w_std in [0.01, 50]. `symbolic` is the closed form of w_std as text, or None."""

    w_std: float
    b_std: float
    chi_1: float  # at w_std, approached from the ordered side
    symbolic: str | None
    note: str = ""

    def to_dict(self) -> dict:
        return json_numbers(dict(self.__dict__))


def convergence_text(phase: str, chi: float, c_star: float, chi_c: float, eoc: tuple | None) -> str:
    """How the correlation of two inputs converges with depth (Schoenholz et al. 2017), in words."""
    if phase == "ordered":
        return f"exponential: 1 - c_l ~ {chi:.6g}^l" if chi > 0 else "exponential"
    if phase == "chaotic":
        return f"to c* = {c_star:.6g} < 1, exponential at rate |chi_c| = {abs(chi_c):.6g}"
    if math.isnan(c_star):
        return "not determined (q* = 0)"
    return "polynomial" + (f": 1 - c_l ~ l^-{1 / (eoc[0] - 1):g}" if eoc else "")


def nonfinite_name(v) -> str | None:
    """The name of a non-finite float ("inf", "-inf" or "nan"); None for anything else."""
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return None


def json_numbers(values: dict) -> dict:
    """`values` with each non-finite float replaced by null (JSON has no inf or nan) and a `nonfinite`
    entry mapping those keys to "inf", "-inf" or "nan" (empty when every number is finite)."""
    out: dict[str, Any] = {}
    nonfinite: dict[str, str] = {}
    for key, v in values.items():
        name = nonfinite_name(v)
        if name is not None:
            out[key], nonfinite[key] = None, name
        else:
            out[key] = float(v) if isinstance(v, np.floating) else v
    out["nonfinite"] = nonfinite
    return out


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


def make_analysis(derivation: Derivation, overrides: Mapping[str, float]) -> Analysis | CompositeAnalysis:
    """The analysis of the spec's repeated block: `Analysis` for dense + activation pairs (closed forms where
    SymPy finds them), `CompositeAnalysis` for blocks with layer norm, residual blocks or convolutions."""
    from ntksym.symbolic.depth_block import find_composite
    from ntksym.symbolic.depth_composite import CompositeAnalysis
    from ntksym.symbolic.mean_field_maps import SWEEP_B, SWEEP_W

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


def fixed_points(derivation: Derivation, **overrides: float) -> FixedPoints:
    return make_analysis(derivation, overrides).fixed_points()


def edge_of_chaos(derivation: Derivation, b_std: float | None = None, **overrides: float) -> EdgeOfChaos:
    analysis = make_analysis(derivation, overrides)
    analysis.check_sweepable()
    return analysis.edge_of_chaos(b_std)


def critical_curve(derivation: Derivation, b_values: ArrayLike, **overrides: float) -> np.ndarray:
    """The edge of chaos w_std(b_std) for each b_std (NaN where chi_1 never crosses 1)."""
    analysis = make_analysis(derivation, overrides)
    analysis.check_sweepable()
    return analysis.critical_w(b_values)[0]
