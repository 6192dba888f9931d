"""Depth analysis of a repeated block with layer norm, residual blocks or convolutions.

The block's mean-field map (q, k) -> (q', k', dk'/dk) is composed from its layers' maps
(depth/maps.py); then, as for a dense + activation block (`fixed_points.Analysis`):
  q*     the stable fixed point of the length map q -> q'(q) (bracketed root finding, `roots`),
  c'     = k'(q*, c q*) / q*, the correlation map at q*; c* its stable fixed point,
  chi_1  = dc'/dc at c = 1 = dk'/dk at (q*, q*), chi_c = dk'/dk at (q*, c* q*)
(Poole et al. 2016; Schoenholz et al. 2017). Layer norm makes the length map constant (q' does not
depend on q: chi_q = 0) and changes the correlation map (Jacot, Gabriel, Hongler 2019, "Freeze and
chaos for DNNs": normalisation moves the NTK towards chaos, bias variance towards freeze).

Residual blocks y = x + a f(x) usually have no finite q*: q grows with depth, geometrically where f is
positively homogeneous (ReLU), linearly where phi is bounded (tanh) (Yang & Schoenholz 2017, "Mean
field residual networks: on the edge of chaos"). Then the analysis reports the per-layer growth
q_growth = lim q'/q and q_step = lim q' - q (q -> inf), chi_1 in the normalised coordinate c = k / q,
lim_{q -> inf} q (dk'/dk) / q', and iterates the map to measure how correlations converge: polynomially
(1 - c_l ~ l^-p) rather than exponentially where chi_1 tends to 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ntksym.depth import mean_field as mf
from ntksym.depth.block import CompositeBlock
from ntksym.depth.maps import ChainMap, MapContext, StepMap, number
from ntksym.depth.ntk import eoc_approach_fn, ntk_depth
from ntksym.depth.results import EDGE_RTOL, EdgeOfChaos, FixedPoints, convergence_text
from ntksym.depth.roots import first_crossing, refine
from ntksym.depth.symbolic_forms import SymbolicForms, display_symbols
from ntksym.errors import DerivationError
from ntksym.layers import kind_of
from ntksym.symbolic.steps import iter_steps

NAN = math.nan
LIMIT_PROBES = (1e6, 1e8, 1e10)  # where the limits as q -> inf are read (quadrature is exact enough there)
NORMALISED_EDGE = 1e-6  # |chi_1 - 1| below this in a limit as q -> inf: correlations converge polynomially
ITERATION = (50, 400)  # layers over which the convergence of correlations is measured (from q0 = 1, c0 = 0.5)
Q_FAR = 1e8  # where the limit q -> inf of the correlation dynamics is read


def aitken_limit(f: Callable[[np.ndarray], np.ndarray]) -> float:
    """lim f(q) as q -> inf from q = 1e6, 1e8, 1e10: Aitken's delta-squared extrapolation where the
    differences shrink geometrically (errors like q^-1/2 or 1/q), the last value where it has settled,
    inf where it grows, nan otherwise."""
    with np.errstate(all="ignore"):
        v = np.asarray(f(np.array(LIMIT_PROBES)), dtype=float).reshape(-1)
    if np.isnan(v).any():
        return NAN
    if np.isposinf(v[-1]) or (np.isfinite(v).all() and v[-1] > v[-2] > v[-3] > 0 and v[-1] / v[-2] > 1.5):
        return math.inf
    if not np.isfinite(v).all():
        return NAN
    d1, d2 = v[1] - v[0], v[2] - v[1]
    if abs(d2) <= 1e-13 * max(abs(v[2]), 1e-300):
        return float(v[2])
    r = d2 / d1 if d1 != 0 else NAN
    if not (0 < r < 0.5):
        return float(v[2]) if abs(d2) <= 1e-6 * abs(v[2]) else NAN
    return float(v[2] + d2 * r / (1 - r))


def chain(steps: tuple, ctx: MapContext) -> StepMap:
    """The map of `steps` through their kinds' `mean_field` hooks; a DerivationError naming the first
    step whose kind has none."""
    def body(children: tuple) -> StepMap:
        return chain(children, ctx)

    maps = []
    for step in steps:
        m = kind_of(step).mean_field(step, ctx, body)
        if m is None:
            raise DerivationError(f"{step.path}: the depth analysis has no mean-field map for `{step.kind}`")
        maps.append(m)
    return ChainMap(tuple(maps))


class CompositeAnalysis:
    """`fixed_points.Analysis` for a `CompositeBlock`: the same methods, on the composed map."""

    def __init__(self, block: CompositeBlock, values: Mapping):
        self.block = block
        self.values = values
        ctx = MapContext(values, block.path)
        self.map = chain(block.steps, ctx)
        self.w = number(block.w, ctx, f"{block.weight_path}.w_std")
        self.b = number(block.b, ctx, f"{block.weight_path}.b_std")
        self.title = f"{', '.join(block.activation_names) or 'linear'} with {', '.join(block.kinds)}: {block.path}"

    # -- the maps on flat arrays of (w, b) ---------------------------------------------------------
    def _run(self, q, k, w, b, slope=True):
        return self.map.run(q, k, w, b, slope)

    def _length(self, q, w, b):
        return self._run(q, q, w, b, slope=False)[0]

    def solve(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """q* and its status (mean_field's FINITE, ZERO, NONE, MARGINAL) for each (w, b) of flat arrays."""
        grid = mf.Q_GRID
        g = self._length(grid[None, :], w[:, None], b[:, None]) - grid
        g0 = self._length(np.zeros_like(w), w, b)
        n = w.size
        q = np.full(n, np.nan)
        status = np.full(n, mf.NONE)
        marginal = (np.abs(g) <= mf.MARGINAL_RTOL * grid).all(axis=-1) & (np.abs(g0) <= 1e-300)
        zero = (np.abs(g0) <= 1e-300) & (g[:, 0] <= 0) & ~marginal
        below = (g0 > 0) & (g[:, 0] <= 0)
        k = first_crossing(g)
        scan = (k >= 0) & ~zero & ~below & ~marginal
        q[zero], status[zero] = 0.0, mf.ZERO
        status[marginal] = mf.MARGINAL
        kk = np.maximum(k, 0)
        lo = np.where(below, 0.0, grid[kk])
        hi = np.where(below, grid[0], grid[np.minimum(kk + 1, grid.size - 1)])
        todo = below | scan
        if todo.any():
            rows = np.nonzero(todo)[0]
            f_lo = np.where(below[todo], g0[todo], g[rows, kk[todo]])
            f_hi = np.where(below[todo], g[rows, 0], g[rows, np.minimum(kk[todo] + 1, grid.size - 1)])
            wt, bt = w[todo], b[todo]
            q[todo] = refine(lambda x: self._length(x, wt, bt) - x, lo[todo], hi[todo], f_lo, f_hi)
            status[todo] = mf.FINITE
        return q, status

    def _chi(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chi_1, q*, status); chi_1 is nan where there is no finite fixed point."""
        q, status = self.solve(w, b)
        at = np.where(status == mf.MARGINAL, 1.0, np.nan_to_num(q))
        chi = self._run(at, at, w, b)[2]
        return np.where(status == mf.NONE, np.nan, chi), q, status

    # -- one point ---------------------------------------------------------------------------------
    def fixed_points(self, w: float | None = None, b: float | None = None):
        w = self.w if w is None else float(w)
        b = self.b if b is None else float(b)
        W, B = np.array([w]), np.array([b])
        q_arr, st_arr = self.solve(W, B)
        q, status = float(q_arr[0]), int(st_arr[0])
        notes = list(self._notes())
        forms = self._forms()
        if status == mf.NONE:
            return self._unbounded(w, b, notes, forms)
        q_eval = 1.0 if status == mf.MARGINAL else q
        if status == mf.MARGINAL:
            notes.append("every q is a fixed point (the length map is the identity); q* is the input's own variance")
        chi = float(self._run(np.array(q_eval), np.array(q_eval), W[0], B[0])[2])
        h = 1e-4 * max(q_eval, 1e-8)
        chi_q = float((self._length(np.array(q_eval + h), w, b) - self._length(np.array(max(q_eval - h, 0.0)), w, b))
                      / (q_eval + h - max(q_eval - h, 0.0)))
        phase = "edge of chaos" if abs(chi - 1) <= EDGE_RTOL else ("ordered" if chi < 1 else "chaotic")
        if status == mf.ZERO:
            notes.append("q* = 0: the signal vanishes with depth, so c* is not defined")
            c_star, chi_c = NAN, chi
        else:
            c_star = self._c_star(w, b, q_eval, chi)
            chi_c = float(self._run(np.array(q_eval), np.array(c_star * q_eval), w, b)[2])
        eoc = None
        if phase == "edge of chaos" and status != mf.ZERO:
            eoc = eoc_approach_fn(lambda c: float(self._corr(w, b, q_eval, np.array(c))))
        convergence = convergence_text(phase, chi, c_star, chi_c, eoc)
        c_exp = 1 / (eoc[0] - 1) if eoc else NAN
        return FixedPoints(
            w, b, NAN if status == mf.MARGINAL else q, chi, c_star, chi_c, chi_q, mf.depth_scale(chi_q),
            mf.depth_scale(chi_c), phase, ntk_depth(phase, chi, chi_c, eoc), forms, self.block.path,
            tuple(notes), NAN, NAN, convergence, c_exp, self._state(),
        )

    def _corr(self, w, b, q, c):
        return self._run(np.asarray(q), np.asarray(c) * q, w, b, slope=False)[1] / q

    def _c_star(self, w, b, q, chi):
        if chi <= 1.0:
            return 1.0
        h = self._corr(w, b, q, mf.C_GRID) - mf.C_GRID
        k = int(first_crossing(-h[None, :])[0])
        if h[0] >= 0 or k < 0:
            return 1.0
        fn = lambda c: self._corr(w, b, q, c) - c  # noqa: E731
        return float(refine(fn, np.array(mf.C_GRID[k]), np.array(mf.C_GRID[k + 1]), np.array(h[k]), np.array(h[k + 1])))

    def _unbounded(self, w, b, notes, forms):
        """No finite q*: growth per layer, chi_1 in the normalised coordinate, where correlations go.

        At large q (read at Q_FAR) the normalised map c -> k'(q, c q) / q'(q) settles where q grows
        geometrically (positively homogeneous blocks): its fixed point c* and slope chi_c there, as for a
        finite q*. Where q grows linearly (bounded phi: q_l ~ q_step l) that map tends to the identity and
        c_{l+1} - c_l = D(c_l) / q_{l+1} with D(c) = k'(q, c q) - c q'(q): in log-depth, dc/dlog l =
        D(c) / q_step, so c approaches the stable zero c* of D polynomially, |c_l - c*| ~ l^-p with
        p = -D'(c*) / q_step (Yang & Schoenholz 2017: polynomial, not exponential, dynamics)."""
        growth = aitken_limit(lambda q: self._length(q, w, b) / q)
        linear = abs(growth - 1) < 1e-9
        step = aitken_limit(lambda q: self._length(q, w, b) - q) if linear else math.inf
        growth = 1.0 if linear else growth

        def normalised(q):
            qn, _, s = self._run(q, q, w, b)
            return q * s / qn

        chi = aitken_limit(normalised)
        if linear and abs(chi - 1) < 1e-3:  # bounded branch, q -> inf: the normalised map tends to the identity
            chi = 1.0
        c_star, chi_c, c_exp, text = self._asymptotic(w, b, chi, step if linear else None)
        measured = self._iterate(w, b, c_star)
        how = "geometrically" if growth > 1 else "linearly"
        notes.append(
            f"the length map has no finite fixed point: q grows {how} with depth (q_growth = lim q'/q, "
            "q_step = lim q' - q as q -> inf); chi_1 is the slope at c = 1 of the normalised correlation map "
            "c -> q12'/q11' in the limit q -> inf, and c*, chi_c, the convergence are those of that limit "
            "(Yang & Schoenholz 2017)"
        )
        notes.append(measured)
        return FixedPoints(
            w, b, math.inf, chi, c_star, chi_c, growth, mf.depth_scale(growth), mf.depth_scale(chi_c) if not linear
            else math.inf, "no finite fixed point", ntk_depth("none", chi, NAN, None), forms, self.block.path,
            tuple(notes), growth, step, text, c_exp, self._state(),
        )

    def _asymptotic(self, w, b, chi, step):
        """(c*, chi_c, exponent, text) of the correlations' limit dynamics (see `_unbounded`)."""
        Q = np.array(Q_FAR)
        L = float(self._length(Q, w, b))
        if step is None:  # geometric growth: the normalised map c -> k'(Q, c Q) / q'(Q)
            def corr(c):
                return self._run(Q, np.asarray(c) * Q, w, b, slope=False)[1] / L

            if chi <= 1 + NORMALISED_EDGE:
                if abs(chi - 1) <= NORMALISED_EDGE:
                    p, _, _ = eoc_approach_fn(lambda c: float(corr(c)))
                    e = 1 / (p - 1)
                    return 1.0, chi, e, f"polynomial: 1 - c_l ~ l^-{e:g} (the normalised map's kink order {p:g})"
                return 1.0, chi, NAN, f"exponential: 1 - c_l ~ {chi:.6g}^l"
            h = corr(mf.C_GRID) - mf.C_GRID
            k = int(first_crossing(-h[None, :])[0])
            if k < 0:
                return NAN, NAN, NAN, "not determined (no stable correlation below 1 found)"
            c = float(refine(lambda x: corr(x) - x, np.array(mf.C_GRID[k]), np.array(mf.C_GRID[k + 1]),
                             np.array(h[k]), np.array(h[k + 1])))
            chi_c = float(self._run(Q, np.array(c * Q), w, b)[2] * Q / L)
            return c, chi_c, NAN, f"to c* = {c:.6g} < 1, exponential at rate |chi_c| = {abs(chi_c):.6g}"

        def drift(c):  # D(c) = k'(Q, c Q) - c q'(Q): c_{l+1} - c_l = D(c_l) / q_{l+1}
            return self._run(Q, np.asarray(c) * Q, w, b, slope=False)[1] - np.asarray(c) * L

        d = drift(mf.C_GRID)
        if d[0] > 0:  # just below 1 correlations rise: c* = 1
            return 1.0, 1.0, NAN, ("to c* = 1, slower than exponential (q grows linearly: the normalised map tends "
                                   "to the identity)")
        k = int(np.argmax(d > 0)) - 1 if (d > 0).any() else -1
        if k < 0:
            return NAN, NAN, NAN, "not determined (no stable correlation found)"
        c = float(refine(drift, np.array(mf.C_GRID[k]), np.array(mf.C_GRID[k + 1]), np.array(d[k]), np.array(d[k + 1])))
        h = 1e-5
        slope = float((drift(c + h) - drift(c - h)) / (2 * h))
        p = -slope / step
        return c, NAN, p, (f"to c* = {c:.6g} < 1, polynomial: |c_l - c*| ~ l^-{p:.4g} (q grows linearly by "
                           f"{step:.6g} per layer; dc/dlog l = D(c) / q_step)")

    def _iterate(self, w: float, b: float, c_star: float) -> str:
        """Iterate the block's map from q0 = 1, c0 = 0.5 over ITERATION layers: the measured log-log slope of
        |c_l - c*| (a check of the limit analysis, not a limit itself)."""
        first, last = ITERATION
        q, k = np.array(1.0), np.array(0.5)
        cs = {}
        for layer in range(1, last + 1):
            q, k, _ = self._run(q, k, w, b, slope=False)
            if not (np.isfinite(q) and np.isfinite(k)) or q <= 0:
                return f"iterated from q0 = 1, c0 = 0.5: the variance overflows by layer {layer}"
            if layer in (first, last):
                cs[layer] = float(k / q)
        text = f"iterated from q0 = 1, c0 = 0.5: c_{first} = {cs[first]:.6g}, c_{last} = {cs[last]:.6g}"
        if math.isnan(c_star):
            return text
        g1, g2 = abs(cs[first] - c_star), abs(cs[last] - c_star)
        if g1 > 0 and g2 > 0:
            text += f"; |c_l - c*| falls like l^-{math.log(g1 / g2) / math.log(last / first):.3g} over layers {first}-{last}"
        return text

    def _state(self) -> str:
        path = self.block.state_path
        return f"the output of {path} (the block rotated to end there)" if path else "the block's output"

    def _notes(self) -> tuple[str, ...]:
        notes = []
        if self.block.state_path:
            notes.append(f"q* and c* are those of {self._state()}")
        if "layer_norm" in self.block.kinds:
            notes.append(
                "layer norm sets each input's variance to 1 and keeps correlations (infinite width), so the "
                "length map is constant after it and only the correlation map depends on w_std, b_std"
            )
        for conv in self.block.convs:
            padding = {
                "SAME": "with SAME (zero) padding the boundary pixels see fewer terms of the patch sum, so their "
                        "variance is smaller than q* (boundary effects; Jacot et al. 2019)",
                "VALID": "with VALID padding the image shrinks by the filter size per layer; no boundary pixels",
                "CIRCULAR": "with CIRCULAR padding every pixel sees a full patch: the fixed point holds everywhere",
            }[conv.padding]
            stride = "" if all(st == 1 for st in conv.stride) else (
                f"; stride {list(conv.stride)} subsamples the pixels, which leaves the pixel diagonal's map unchanged")
            notes.append(
                f"{conv.path}: translation-invariant inputs, so q* and chi_1 are those of a dense layer with the same "
                f"w_std, b_std (the filter average of a constant covariance; Xiao et al. 2018); {padding}{stride}"
            )
        return tuple(notes)

    def _forms(self) -> SymbolicForms:
        import sympy as sp

        w, b = display_symbols(self.block)  # type: ignore[arg-type]  # uses .w, .b, .has_bias
        text = sp.Symbol("composed map of " + ", ".join(self.block.kinds))
        return SymbolicForms(w, b, text, None, sp.Symbol("dk'/dk at (q*, q*)"), sp.Symbol("k'(q*, c q*)/q*"),
                             sp.Symbol("dk'/dk at (q*, c* q*)"), None, None)

    # -- sweeps ------------------------------------------------------------------------------------
    def check_sweepable(self) -> None:
        import sympy as sp

        swept = {s for s in (self.block.w, self.block.b) if isinstance(s, sp.Symbol)}
        for step in iter_steps(self.block.steps):
            exprs = [getattr(step, name, None) for name in ("nngp", "nngp_diag", "scale")]
            used = set().union(*(e.free_symbols for e in exprs if isinstance(e, sp.Basic)))
            shared = swept & used
            if shared:
                raise DerivationError(
                    f"cannot sweep {', '.join(map(str, sorted(shared, key=str)))}: {step.path} depends on it too; "
                    "give the weight layers their own"
                )

    @np.errstate(over="ignore", invalid="ignore")
    def chi_1_grid(self, w_values: ArrayLike, b_values: ArrayLike,
                   progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = np.asarray(w_values, float)
        return mf.stack_rows(lambda b: self._chi(w, np.full_like(w, b)), b_values, progress)

    @np.errstate(over="ignore", invalid="ignore")
    def critical_w(self, b_values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """w_std where chi_1 crosses 1 upwards per b_std (first crossing on mean_field.W_GRID), chi_1 there."""
        b = np.atleast_1d(np.asarray(b_values, float))
        grid = mf.W_GRID[::4]  # 40 points: each is a root finding on the composed map; the root is refined
        out, chi_at = np.full(b.shape, np.nan), np.full(b.shape, np.nan)
        for i, bi in enumerate(b):
            chi, _, status = self._chi(grid, np.full_like(grid, bi))
            h = np.where(status == mf.NONE, 1.0, chi - 1.0)
            if np.all(np.abs(h) <= EDGE_RTOL):  # chi_1 = 1 for every w_std (e.g. ReLU with layer norm, b = 0)
                continue
            k = int(first_crossing(-h[None, :])[0])
            if k < 0:
                continue
            bb = np.array([bi])

            def fn(w2, bb=bb):
                c, _, st = self._chi(np.sqrt(w2), bb)
                return np.where(st == mf.NONE, 1.0, c - 1.0)

            w2 = refine(fn, np.array([grid[k] ** 2]), np.array([grid[k + 1] ** 2]), np.array([h[k]]),
                        np.array([h[k + 1]]), rtol=1e-14)
            out[i] = math.sqrt(float(w2[0]))
            chi_at[i] = float(self._chi(np.array([out[i] * (1 - 1e-9)]), bb)[0][0])
        return out, chi_at

    def edge_of_chaos(self, b: float | None = None):
        b = self.b if b is None else float(b)
        probe = mf.W_GRID[::20]
        if (self.solve(probe, np.full_like(probe, b))[1] == mf.NONE).all():
            return EdgeOfChaos(NAN, b, NAN, None, "no finite fixed point for any w_std probed in [0.01, 50]")
        w, chi = (float(x[0]) for x in self.critical_w([b]))
        if math.isnan(w):
            return EdgeOfChaos(NAN, b, NAN, None, "chi_1 does not cross 1 for w_std in [0.01, 50]")
        note = "" if math.isnan(chi) or abs(chi - 1) <= 1e-6 else (
            f"the fixed point ceases to exist at this w_std (chi_1 -> {chi:.6g} there)")
        return EdgeOfChaos(w, b, chi, None, note)
