"""Bracketed root finding on arrays (numpy only: scipy is a test dependency, not a library one).

Brackets come from scanning a grid for the first sign change; roots are refined by the Illinois
variant of regula falsi (Dowell & Jarratt 1971), which keeps the bracket and converges superlinearly,
with a bisection step every fourth iteration so that it never does worse than bisection.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ArrayFn = Callable[[np.ndarray], np.ndarray]


def first_crossing(values: np.ndarray) -> np.ndarray:
    """Per row of `values` (..., K): the first k with values[k] > 0 >= values[k + 1]; -1 where none."""
    pos = values > 0
    change = pos[..., :-1] & ~pos[..., 1:] & ~np.isnan(values[..., 1:])
    found = change.any(axis=-1)
    return np.where(found, np.argmax(change, axis=-1), -1)


def refine(
    fn: ArrayFn,
    lo: np.ndarray,
    hi: np.ndarray,
    f_lo: np.ndarray,
    f_hi: np.ndarray,
    rtol: float = 4e-16,
    atol: float = 1e-300,
    maxiter: int = 200,
) -> np.ndarray:
    """Roots of fn in [lo, hi] elementwise, given f_lo, f_hi of opposite signs (or one of them 0)."""
    a, b = np.array(lo, dtype=float), np.array(hi, dtype=float)
    fa, fb = np.array(f_lo, dtype=float), np.array(f_hi, dtype=float)
    done = (fa == 0) | (fb == 0)
    root = np.where(fa == 0, a, b)
    for it in range(maxiter):
        done |= np.abs(b - a) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))
        if done.all():
            break
        with np.errstate(all="ignore"):
            x = b - fb * (b - a) / (fb - fa)
        bad = ~np.isfinite(x) | (x <= np.minimum(a, b)) | (x >= np.maximum(a, b)) | (it % 4 == 3)
        x = np.where(bad, (a + b) / 2, x)
        x = np.where(done, root, x)
        fx = np.asarray(fn(x), dtype=float)
        hit = (fx == 0) & ~done
        root = np.where(hit, x, root)
        done |= hit
        flip = fx * fb < 0
        a, fa = np.where(flip, b, a), np.where(flip, fb, fa / 2)
        fa = np.where(bad & ~flip, fa * 2, fa)  # a bisection step is no Illinois step: keep fa
        b, fb = np.where(done, b, x), np.where(done, fb, fx)
        root = np.where(done, root, b)
    return root
