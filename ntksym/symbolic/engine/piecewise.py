"""Duals of activations that are a polynomial on each half-line: relu, leaky/ab-relu, abs, step,
rectified powers and any `p(max(x, 0)) + r(min(x, 0))`.

Such a phi is sum_m a_m R_m(x) + sum_n b_n R_n(-x) with R_m(x) = max(x, 0)^m (R_0 = the step 1(x > 0)),
so E[phi(u) phi(v)] is a sum of the mixed arc-cosine kernels
  K_mn(q11, q12, q22) = E[R_m(u) R_n(v)],
and the terms with R(-u) or R(-v) are the same kernels at -q12 (the covariance of u and -v), i.e. at the
angle pi - theta: the cross terms between the two half-lines (Cho & Saul 2009 for m = n; the mixed case
is derived below the same way).

Derivation of K_mn. Write u = sqrt(q11) r cos(f), v = sqrt(q22) r cos(f - theta) with (r, f) polar
coordinates of a standard normal pair and cos(theta) = rho. Both are positive for f in (theta - pi/2, pi/2),
and the radial integral is int_0^inf r^(m+n+1) exp(-r^2/2) dr = 2^((m+n)/2) Gamma((m+n)/2 + 1), so
  K_mn = q11^(m/2) q22^(n/2) 2^((m+n)/2) Gamma((m+n)/2 + 1) / (2 pi)
         * int_{theta - pi/2}^{pi/2} cos(f)^m cos(f - theta)^n df.
The angular integral is a trigonometric polynomial in theta plus a multiple of theta; it is computed
exactly by SymPy and written with cos(theta) = q12/sqrt(q11 q22), sin(theta) = sqrt(det)/sqrt(q11 q22).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from ntksym.symbolic.state import ANGLE, SQRT_DET, q11, q12, q22, x

SOURCE = "Cho & Saul 2009, extended to mixed degrees and the cross terms of the two half-lines"
MAX_DEGREE = 8  # the angular integrals grow quickly; beyond this the other methods take over

_t = sp.Symbol("t", positive=True)
_f = sp.Symbol("f", real=True)
_theta = sp.Symbol("theta", positive=True)
_c, _s = sp.symbols("c s", real=True)  # cos(theta), sin(theta)


def half_line_parts(phi: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]] | None:
    """Coefficient lists (a, b): phi(x) = sum a_m max(x,0)^m + sum b_n max(-x,0)^n, or None."""
    parts = []
    for side in (_t, -_t):
        piece = sp.expand(phi.subs(x, side))
        if piece.has(x) or not piece.is_polynomial(_t):
            return None
        coeffs = sp.Poly(piece, _t).all_coeffs()[::-1]
        if len(coeffs) - 1 > MAX_DEGREE:
            return None
        parts.append([sp.nsimplify(c) if c.is_Float else c for c in coeffs])
    return parts[0], parts[1]


def derivative_parts(pos: list[sp.Expr], neg: list[sp.Expr]) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """phi' on each half-line (jumps carry no density and are dropped): p'(t), and -r'(t) since
    phi(x) = r(-x) for x < 0."""

    def diff(c: list[sp.Expr]) -> list[sp.Expr]:
        return [i * a for i, a in enumerate(c)][1:] or [sp.Integer(0)]

    return diff(pos), [-a for a in diff(neg)]


@cache
def _antiderivative(a: int, b: int) -> sp.Expr:
    return sp.integrate(sp.cos(_f) ** a * sp.sin(_f) ** b, _f)


@cache
def mixed_kernel(m: int, n: int) -> sp.Expr:
    """K_mn in the symbols (c, s, theta) with q11, q22: the formula of the module docstring."""
    integral = sp.Integer(0)
    for k in range(n + 1):  # cos(f - theta)^n = sum_k C(n,k) (c cos f)^(n-k) (s sin f)^k
        prim = _antiderivative(m + n - k, k)
        definite = prim.subs(_f, sp.pi / 2) - prim.subs(_f, _theta - sp.pi / 2)
        integral += sp.binomial(n, k) * _c ** (n - k) * _s**k * definite
    integral = sp.expand(sp.expand_trig(integral)).subs({sp.cos(_theta): _c, sp.sin(_theta): _s})
    # sin^2 = 1 - cos^2 leaves at most one power of sin in each term
    integral = sp.expand(
        integral.replace(
            lambda e: e.is_Pow and e.base == _s and e.exp.is_Integer,
            lambda e: _s ** (e.exp % 2) * (1 - _c**2) ** (e.exp // 2),
        )
    )
    radial = 2 ** sp.Rational(m + n, 2) * sp.gamma(sp.Rational(m + n, 2) + 1)
    return sp.expand(q11 ** sp.Rational(m, 2) * q22 ** sp.Rational(n, 2) * radial * integral / (2 * sp.pi))


def _pair_sum(a: list[sp.Expr], b: list[sp.Expr]) -> sp.Expr:
    return sp.Add(
        *(
            ai * bj * mixed_kernel(i, j)
            for i, ai in enumerate(a)
            if ai != 0
            for j, bj in enumerate(b)
            if bj != 0
        )
    )


def half_line_kernel(pos: list[sp.Expr], neg: list[sp.Expr]) -> tuple[sp.Expr, sp.Expr]:
    """(E[phi(u) phi(v)] in q11, q12, q22; E[phi(u)^2] in q11) for phi given by its half-line parts."""
    same = _pair_sum(pos, pos) + _pair_sum(neg, neg)  # R(u)R(v) and R(-u)R(-v): covariance q12
    flipped = _pair_sum(pos, neg) + _pair_sum(neg, pos)  # R(u)R(-v), R(-u)R(v): covariance -q12
    flipped = flipped.subs({_c: -_c, _theta: sp.pi - _theta}, simultaneous=True)
    total = sp.expand(same + flipped)
    # On the diagonal theta = 0 exactly (the cross terms vanish there: disjoint supports).
    diag = sp.simplify(total.subs({_c: 1, _s: 0, _theta: 0}).subs(q22, q11))
    r = sp.sqrt(q11 * q22)
    cross = total.subs({_c: q12 / r, _s: SQRT_DET / r, _theta: ANGLE})
    return sp.collect(sp.expand(cross), [ANGLE, SQRT_DET]), diag
