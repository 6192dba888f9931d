"""Gaussian expectations in numpy, for the depth analysis (no JAX, no jit: small scalar-ish work).

E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]) by composite Gauss-Legendre rules over the
standard normal variables, truncated at |z| = 13 (the tail mass there is below 1e-37).

Why panels and not plain Gauss-Hermite: activations with a kink at 0 (elu, selu, relu-like expressions)
and steep ones at large variance (tanh(10 z)) make Hermite rules converge slowly. Panels that grow
geometrically away from the kink (at u = 0 and at v = 0) resolve both to near machine precision.
With u = sqrt(q11) z1, v = sqrt(q22) (c z1 + s z2), c = q12 / sqrt(q11 q22), s = sqrt(1 - c^2),
the inner rule in z2 is refined around z2 = -c z1 / s, where v crosses 0.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

Fn = Callable[[np.ndarray], np.ndarray]

TAIL = 13.0
# Panel edges in units of the standard normal variable: geometric near the kink, then even.
_GEOMETRIC = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 0.6, 1.0, 1.5, 2.2, 3.0, 4.0, 5.5, 7.5, 10.0)
_EDGES_1D = np.array([-TAIL, *(-e for e in reversed(_GEOMETRIC)), 0.0, *_GEOMETRIC, TAIL])
_COARSE = (1e-3, 1e-2, 0.1, 0.5, 1.2, 2.2, 3.5, 5.5, 8.5)
_EDGES_2D = np.array([-TAIL, *(-e for e in reversed(_COARSE)), 0.0, *_COARSE, TAIL])
_INNER_OFFSETS = np.array([-np.inf, *(-e for e in reversed(_COARSE)), 0.0, *_COARSE, np.inf])


def _panels(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of n-point Gauss-Legendre on each panel [edges[..., i], edges[..., i+1]]."""
    x, w = _legendre(n)
    lo, hi = edges[..., :-1, None], edges[..., 1:, None]
    half = (hi - lo) / 2
    nodes = (lo + hi) / 2 + half * x
    weights = half * w
    shape = edges.shape[:-1] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


@lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _normal_rule(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = _panels(edges, n)
    return z, w * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)


Z1, W1 = _normal_rule(_EDGES_1D, 12)  # 1-D rule: 432 nodes
Z2_OUTER, W2_OUTER = _normal_rule(_EDGES_2D, 8)  # outer rule of the 2-D expectation: 160 nodes


def expect_same(f: Fn, g: Fn, q: np.ndarray | float) -> np.ndarray:
    """E[f(u) g(u)] for u ~ N(0, q), elementwise over an array of variances q >= 0."""
    q = np.asarray(q, dtype=float)
    u = np.sqrt(np.maximum(q, 0.0))[..., None] * Z1
    return np.sum(_call(f, u) * _call(g, u) * W1, axis=-1)


def expect_score(f: Fn, q: np.ndarray | float) -> np.ndarray:
    """d/dq E[f(u)^2], u ~ N(0, q) > 0, by differentiating the density, not f:
    E[(f(u)^2 - f(0)^2) (z^2 - 1)] / (2 q) with u = sqrt(q) z (subtracting f(0)^2, whose expectation
    against z^2 - 1 is zero, keeps small q accurate). Exact for kinked f, where Stein's form needs f''."""
    q = np.maximum(np.asarray(q, dtype=float), 1e-12)
    u = np.sqrt(q)[..., None] * Z1
    f0 = _call(f, np.zeros(1))[0]
    values = (_call(f, u) ** 2 - f0**2) * (Z1 * Z1 - 1)
    return np.sum(values * W1, axis=-1) / (2 * q)


def expect_pair(f: Fn, g: Fn, q11: ArrayLike, q12: ArrayLike, q22: ArrayLike) -> np.ndarray:
    """E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]), elementwise over broadcast arrays."""
    q11, q12, q22 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (q11, q12, q22)))
    r11, r22 = np.sqrt(np.maximum(q11, 0.0)), np.sqrt(np.maximum(q22, 0.0))
    scale = r11 * r22
    c = np.clip(np.divide(q12, scale, out=np.zeros_like(q12), where=scale > 0), -1.0, 1.0)
    s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
    s_safe = np.maximum(s, 1e-300)[..., None, None]
    z1 = Z2_OUTER  # (n1,)
    kink = -c[..., None] * z1 / s_safe[..., 0]  # z2 where v = 0, per outer node: (..., n1)
    with np.errstate(over="ignore"):  # offsets / tiny s: far outside, clipped to the tails
        moving = np.clip(kink[..., None] + _INNER_OFFSETS / s_safe, -TAIL, TAIL)
    fixed = np.broadcast_to(_EDGES_2D, moving.shape[:-1] + _EDGES_2D.shape)
    edges = np.sort(np.concatenate([moving, fixed], axis=-1), axis=-1)
    z2, w2 = _normal_rule(edges, 8)  # (..., n1, n2)
    u = r11[..., None] * z1
    v = r22[..., None, None] * (c[..., None, None] * z1[:, None] + s[..., None, None] * z2)
    inner = np.sum(_call(g, v) * w2, axis=-1)  # E[g(v) | z1]
    return np.sum(_call(f, u) * inner * W2_OUTER, axis=-1)


def _call(f: Fn, x: np.ndarray) -> np.ndarray:
    """f(x) broadcast to x's shape (a lambdified constant returns a scalar)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return np.broadcast_to(np.asarray(f(x), dtype=float), x.shape)
