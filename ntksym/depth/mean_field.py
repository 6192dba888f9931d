"""The mean-field maps of a dense + activation block, solved numerically on arrays of (w^2, b^2).

Poole et al. 2016, "Exponential expressivity in deep neural networks through transient chaos":
  length map        q' = w^2 V(q) + b^2,                 V(q) = E[phi(sqrt(q) z)^2]
  correlation map   c' = (w^2 C(q*, c) + b^2) / q*,      C(q, c) = E[phi(u) phi(v)], corr(u, v) = c
  chi_1 = w^2 D(q*),                                     D(q) = E[phi'(sqrt(q) z)^2]
Schoenholz et al. 2017, "Deep information propagation":
  chi_c = w^2 E[phi'(u) phi'(v)] at c*, 1/xi_c = -log chi_c;
  1/xi_q = -log(chi_1 + w^2 E[phi''(u) phi(u)]) = -log(w^2 V'(q*))  (Stein: V' = E[phi'^2 + phi phi'']).
The stable fixed point is the first downward crossing of g(q) = w^2 V(q) + b^2 - q above 0, bracketed
on a geometric grid and refined (`roots.refine`): iteration alone can stall near chi = 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ntksym.depth.numeric_dual import NumericDual
from ntksym.depth.roots import first_crossing, refine

Q_GRID = np.geomspace(1e-10, 1e10, 161)
C_GRID = 1.0 - np.geomspace(1e-7, 2.0, 18)  # from just below 1 down to -1
W_GRID = np.geomspace(1e-2, 50.0, 160)
MARGINAL_RTOL = 1e-12  # |g(q)| below this times q on the whole grid: every q is a fixed point

# status codes of a solved length map
FINITE, ZERO, NONE, MARGINAL = 0, 1, 2, 3


@np.errstate(over="ignore", invalid="ignore")  # w_std = 1e300: w^2 is inf, handled as no fixed point
def solve_q_star(nd: NumericDual, w2: ArrayLike, b2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The stable fixed point q* of the length map, elementwise, and a status code per element.

    ZERO: q* = 0 is stable (b = 0, phi(0) = 0); NONE: q grows without bound (no finite fixed point);
    MARGINAL: the map is the identity (e.g. ReLU at w^2 = 2, b = 0), every q is fixed: q* is NaN.
    """
    w2, b2 = np.broadcast_arrays(np.asarray(w2, float), np.asarray(b2, float))
    VQ = nd.V(Q_GRID)
    g = w2[..., None] * VQ + b2[..., None] - Q_GRID
    g0 = w2 * nd.V(np.zeros(1))[0] + b2
    q = np.full(w2.shape, np.nan)
    status = np.full(w2.shape, NONE)
    marginal = (np.abs(g) <= MARGINAL_RTOL * Q_GRID).all(axis=-1) & (np.abs(g0) <= 1e-300)
    zero = (np.abs(g0) <= 1e-300) & (g[..., 0] <= 0) & ~marginal
    below = (g0 > 0) & (g[..., 0] <= 0)  # a root between 0 and the grid's first point
    k = first_crossing(g)
    scan = (k >= 0) & ~zero & ~below & ~marginal
    q[zero], status[zero] = 0.0, ZERO
    status[marginal] = MARGINAL
    lo = np.where(below, 0.0, Q_GRID[np.maximum(k, 0)])
    hi = np.where(below, Q_GRID[0], Q_GRID[np.minimum(np.maximum(k, 0) + 1, Q_GRID.size - 1)])
    todo = below | scan
    if todo.any():
        w, b = w2[todo], b2[todo]
        f_lo = np.where(below[todo], g0[todo], g[todo, np.maximum(k[todo], 0)])
        f_hi = np.where(below[todo], g[todo, 0], g[todo, np.maximum(k[todo], 0) + 1])
        q[todo] = refine(lambda x: w * nd.V(x) + b - x, lo[todo], hi[todo], f_lo, f_hi)
        status[todo] = FINITE
    return q, status


def chi_1(nd: NumericDual, w2: ArrayLike, b2: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chi_1, q*, status) elementwise; chi_1 is NaN where there is no finite fixed point.
    Where every q is fixed (positively homogeneous phi), D does not depend on q: evaluated at q = 1."""
    q, status = solve_q_star(nd, w2, b2)
    w2 = np.broadcast_to(np.asarray(w2, float), q.shape)
    at = np.where(status == MARGINAL, 1.0, np.nan_to_num(q))
    chi = np.where(status == NONE, np.nan, w2 * nd.D(at))
    return chi, q, status


def stack_rows(row, b_values: ArrayLike, progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chi_1, q*, status) over a grid, one `row(b)` = (chi_1, q*, status) over w per b_std, shape (len(b), len(w))."""
    rows = []
    for b in np.asarray(b_values, float):
        rows.append(row(b))
        if progress is not None:
            progress(1)
    chi, q, status = zip(*rows, strict=True)
    return np.stack(chi), np.stack(q), np.stack(status)


def correlation_map(nd: NumericDual, w2: float, b2: float, q: float, c: ArrayLike) -> np.ndarray:
    """c -> (w^2 C(q*, c) + b^2) / q* at the fixed point's variance."""
    return (w2 * nd.C(q, np.asarray(c, float)) + b2) / q


def solve_c_star(nd: NumericDual, w2: float, b2: float, q: float, chi: float) -> float:
    """The stable fixed point of the correlation map: 1 when chi_1 <= 1, else the largest root below 1."""
    if chi <= 1.0:
        return 1.0
    h = correlation_map(nd, w2, b2, q, C_GRID) - C_GRID  # < 0 just below 1 in the chaotic phase
    k = int(first_crossing(-h[None, :])[0])
    if h[0] >= 0 or k < 0:  # chi_1 so close to 1 that c* lies within 1e-7 of 1
        return 1.0
    fn = lambda c: correlation_map(nd, w2, b2, q, c) - c  # noqa: E731
    return float(refine(fn, np.array(C_GRID[k]), np.array(C_GRID[k + 1]), np.array(h[k]), np.array(h[k + 1])))


def depth_scale(chi: float) -> float:
    """-1 / log|chi|: the number of layers over which a perturbation shrinks by e (inf at |chi| >= 1,
    nan where chi is nan)."""
    if chi is None or np.isnan(chi):
        return float("nan")
    a = abs(chi)
    if a >= 1.0:
        return float("inf")
    return 0.0 if a == 0 else float(-1.0 / np.log(a))


def critical_w2(nd: NumericDual, b2_values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Per b^2: the w^2 with chi_1 = 1 (the edge of chaos), and chi_1 at the root (to tell a true
    crossing from the edge of the region where q* exists). NaN where no crossing in W_GRID."""
    b2 = np.atleast_1d(np.asarray(b2_values, float))
    w2_grid = W_GRID**2
    chi, _, status = chi_1(nd, w2_grid[None, :], b2[:, None])
    h = np.where(status == NONE, 1.0, chi - 1.0)  # beyond the finite fixed points counts as chaotic
    k = first_crossing(-h)
    found = k >= 0
    out, chi_at = np.full(b2.shape, np.nan), np.full(b2.shape, np.nan)
    if found.any():
        kk, bb = k[found], b2[found]
        rows = np.nonzero(found)[0]

        def fn(w2):
            c, _, st = chi_1(nd, w2, bb)
            return np.where(st == NONE, 1.0, c - 1.0)

        out[found] = refine(fn, w2_grid[kk], w2_grid[kk + 1], h[rows, kk], h[rows, kk + 1], rtol=1e-14)
        chi_at[found] = chi_1(nd, out[found] * (1 - 1e-9), bb)[0]  # from the finite side
    return out, chi_at
