"""Independent numerical Gaussian expectations with scipy, for checking derived duals.

E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]) as a nested adaptive quadrature over
u = sqrt(q11) z1, v = (q12 / sqrt(q11)) z1 + s z2 with s = sqrt(q22 - q12^2 / q11), splitting each
one-dimensional integral where its argument crosses 0 (where piecewise activations have kinks).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import integrate

LIMIT = 12.0  # standard deviations; the Gaussian tail beyond is below 1e-32
_NORMAL = 1.0 / math.sqrt(2 * math.pi)


def _density(z: float) -> float:
    return _NORMAL * math.exp(-z * z / 2)


def expect_pair(
    f: Callable[[float], float], g: Callable[[float], float], q11: float, q12: float, q22: float
) -> float:
    a = q12 / math.sqrt(q11)
    s = math.sqrt(max(q22 - a * a, 0.0))

    def inner(z1: float) -> float:
        fu = f(math.sqrt(q11) * z1)
        if s == 0.0:
            return fu * g(a * z1) * _density(z1)
        kink = -a * z1 / s
        points = [kink] if -LIMIT < kink < LIMIT else None
        val, _ = integrate.quad(
            lambda z2: g(a * z1 + s * z2) * _density(z2),
            -LIMIT,
            LIMIT,
            points=points,
            epsabs=1e-14,
            epsrel=1e-12,
            limit=200,
        )
        return fu * val * _density(z1)

    val, _ = integrate.quad(inner, -LIMIT, LIMIT, points=[0.0], epsabs=1e-13, epsrel=1e-11, limit=200)
    return val


def expect_same(f: Callable[[float], float], g: Callable[[float], float], q11: float) -> float:
    r = math.sqrt(q11)
    val, _ = integrate.quad(
        lambda z: f(r * z) * g(r * z) * _density(z),
        -LIMIT,
        LIMIT,
        points=[0.0],
        epsabs=1e-14,
        epsrel=1e-12,
        limit=200,
    )
    return val
