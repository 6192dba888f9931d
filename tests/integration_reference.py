"""Independent numerical integration of Gaussian expectations, for checking the closed forms.

E[f(u) g(v)] with (u, v) ~ N(0, [[q11, q12], [q12, q22]]) is integrated in polar coordinates of the
whitening variables (z1, z2): u = sqrt(q11) z1, v = sqrt(q22) (rho z1 + sqrt(1 - rho^2) z2). The kinks of
piecewise functions (u = 0, v = 0) are rays through the origin, so splitting the angle there leaves smooth
radial integrands. scipy.integrate.quad does the rest; nothing here shares code with ntksym.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate


def expect_pair(f, g, q11: float, q12: float, q22: float) -> float:
    rho = max(-1.0, min(1.0, q12 / math.sqrt(q11 * q22)))
    s = math.sqrt(max(1.0 - rho * rho, 0.0))
    a, b = math.sqrt(q11), math.sqrt(q22)

    def radial(phi: float) -> float:
        c, d = math.cos(phi), math.sin(phi)

        def integrand(r: float) -> float:
            z1, z2 = r * c, r * d
            return f(a * z1) * g(b * (rho * z1 + s * z2)) * r * math.exp(-r * r / 2)

        return integrate.quad(integrand, 0.0, 40.0, epsabs=1e-14, epsrel=1e-12, limit=200)[0]

    # kink angles: z1 = 0 (u = 0) and rho z1 + s z2 = 0 (v = 0)
    kinks = {math.pi / 2, 3 * math.pi / 2, math.atan2(-rho, s) % (2 * math.pi), (math.atan2(-rho, s) + math.pi) % (2 * math.pi)}
    points = sorted(k for k in kinks if 0 < k < 2 * math.pi)
    edges = [0.0, *points, 2 * math.pi]
    total = sum(integrate.quad(radial, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=200)[0] for lo, hi in zip(edges, edges[1:]) if hi > lo)
    return total / (2 * math.pi)


def expect_same(f, g, q: float) -> float:
    a = math.sqrt(q)

    def integrand(z: float) -> float:
        return f(a * z) * g(a * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    return sum(integrate.quad(integrand, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=200)[0] for lo, hi in ((-40, 0), (0, 40)))


def relative_error(got: float, want: float) -> float:
    return abs(got - want) / max(abs(want), 1e-300)


def random_covariances(rng: np.random.Generator, count: int) -> list[tuple[float, float, float]]:
    """(q11, q12, q22) with variances in [0.05, 4] and correlations in (-0.99, 0.99), plus rho = +-1 and 0."""
    out = []
    for i in range(count):
        q11, q22 = rng.uniform(0.05, 4.0, size=2)
        rho = [1.0, -1.0, 0.0][i] if i < 3 else rng.uniform(-0.99, 0.99)
        if abs(rho) == 1.0:
            q22 = q11
        out.append((float(q11), float(rho * math.sqrt(q11 * q22)), float(q22)))
    return out
