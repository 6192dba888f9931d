"""Gaussian expectations of sums of  P(x) exp(alpha x + beta x^2) [erf(a x)],  P a polynomial.

This algebra holds polynomials, exp(a x), sin and cos (alpha imaginary: Euler's formula), Gaussians
exp(b x^2), erf(a x) and erfc, and products of them. For (u, v) ~ N(0, S), S = [[c11, c12], [c12, c22]]:

- Tilting (completing the square): with B = diag(b1, b2) and M = I - 2 B S,
    E_S[exp(b1 u^2 + b2 v^2) H(u, v)] = det(M)^(-1/2) E_{S M^-1}[H],
  finite while det(M) > 0 (always for b <= 0).
- Shifting (the moment generating function): with m = S (a1, a2),
    E_S[exp(a1 u + a2 v) H(u, v)] = exp((a1, a2) S (a1, a2)^T / 2) E_S[H(u + m1, v + m2)].
- Polynomials: Wick / Isserlis moments (`rules.polynomial.gaussian_moment`).
- erf: Stein's lemma E[u G(u, v)] = c11 E[d_u G] + c12 E[d_v G] lowers the polynomial degree; the
  derivative of erf(a x) is a Gaussian 2a/sqrt(pi) exp(-a^2 x^2), which the tilt absorbs; the recursion
  ends at E[erf(a u)] = 0 and E[erf(a u) erf(b v)] = (2/pi) arcsin(2ab c12 / sqrt((1+2a^2 c11)(1+2b^2 c22)))
  (Williams 1997). erf with a shifted mean (erf times exp(a x)) is outside this algebra.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ntksym.symbolic.rules.polynomial import gaussian_moment
from ntksym.symbolic.state import q11, q12, q22, x

MAX_DEGREE = 24  # polynomial degree inside one term; beyond it the expansions get too large


class Unsupported(Exception):
    """The expression is outside this algebra (the engine then tries the next method)."""


@dataclass(frozen=True)
class Term:
    """coef[0] + coef[1] x + ... times exp(alpha x + beta x^2) times erf(erf x) (no erf if erf is None)."""

    coef: tuple[sp.Expr, ...]
    alpha: sp.Expr = sp.Integer(0)
    beta: sp.Expr = sp.Integer(0)
    erf: sp.Expr | None = None


def decompose(phi: sp.Expr) -> list[Term]:
    """phi as a sum of `Term`s, or `Unsupported`."""
    phi = phi.replace(sp.erfc, lambda arg: 1 - sp.erf(arg))
    phi = phi.rewrite(sp.sin, sp.exp).rewrite(sp.cos, sp.exp)
    groups: dict[tuple, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(phi)):
        poly, alpha, beta, erf = sp.Integer(1), sp.Integer(0), sp.Integer(0), None
        for factor in sp.Mul.make_args(sp.powsimp(term)):
            if not factor.has(x):
                poly *= factor
            elif factor == x or (
                factor.is_Pow and factor.base == x and factor.exp.is_Integer and factor.exp > 0
            ):
                poly *= factor
            elif isinstance(factor, sp.exp):
                c0, a1, b2 = _quadratic(factor.args[0])
                poly, alpha, beta = poly * sp.exp(c0), alpha + a1, beta + b2
            elif isinstance(factor, sp.erf) and erf is None:
                c0, a1, b2 = _quadratic(factor.args[0])
                if c0 != 0 or b2 != 0:
                    raise Unsupported(f"erf of {factor.args[0]}")
                erf = a1
            else:
                raise Unsupported(str(factor))
        key = (alpha, beta, erf)
        groups[key] = groups.get(key, sp.Integer(0)) + poly
    terms = []
    for (alpha, beta, erf), poly in groups.items():
        coeffs = sp.Poly(poly, x).all_coeffs()[::-1]
        if len(coeffs) - 1 > MAX_DEGREE:
            raise Unsupported("degree")
        if any(c != 0 for c in coeffs):
            terms.append(Term(tuple(coeffs), alpha, beta, erf))
    return terms


def _quadratic(arg: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    arg = sp.expand(arg)
    if not arg.is_polynomial(x):
        raise Unsupported(str(arg))
    coeffs = sp.Poly(arg, x).all_coeffs()[::-1] + [sp.Integer(0)] * 3
    if any(c != 0 for c in coeffs[3:]):
        raise Unsupported(str(arg))
    return coeffs[0], coeffs[1], coeffs[2]


def derivative(term: Term) -> list[Term]:
    """d/dx of a term, as terms (product rule; erf' = 2a/sqrt(pi) exp(-a^2 x^2))."""
    c = list(term.coef)
    dpoly = [i * ci for i, ci in enumerate(c)][1:] or [sp.Integer(0)]
    tilt = [sp.Integer(0)] + [term.alpha * ci for ci in c] if term.alpha != 0 else []
    square = [sp.Integer(0), sp.Integer(0)] + [2 * term.beta * ci for ci in c] if term.beta != 0 else []
    total = [sp.Integer(0)] * (len(c) + 1)
    for part in (dpoly, tilt, square):
        for i, ci in enumerate(part):
            total[i] += ci
    out = [Term(tuple(total), term.alpha, term.beta, term.erf)]
    if term.erf is not None:
        gauss = tuple(2 * term.erf / sp.sqrt(sp.pi) * ci for ci in c)
        out.append(Term(gauss, term.alpha, term.beta - term.erf**2, None))
    return [t for t in out if any(ci != 0 for ci in t.coef)]


Cov = tuple[sp.Expr, sp.Expr, sp.Expr]


def expectation(f: list[Term], g: list[Term], cov: Cov) -> sp.Expr:
    """E[f(u) g(v)] for (u, v) ~ N(0, [[c11, c12], [c12, c22]])."""
    memo: dict = {}
    return sp.Add(*(_pair(a, b, cov, memo) for a in f for b in g))


def _pair(f: Term, g: Term, cov: Cov, memo: dict) -> sp.Expr:
    key = (f, g, cov)
    if key not in memo:
        memo[key] = _pair_uncached(f, g, cov, memo)
    return memo[key]


def _pair_uncached(f: Term, g: Term, cov: Cov, memo: dict) -> sp.Expr:
    c11, c12, c22 = cov
    if f.beta != 0 or g.beta != 0:  # tilt: complete the square
        m11, m12, m21, m22 = 1 - 2 * f.beta * c11, -2 * f.beta * c12, -2 * g.beta * c12, 1 - 2 * g.beta * c22
        det = sp.factor(m11 * m22 - m12 * m21)
        # S M^-1 with M^-1 = [[m22, -m12], [-m21, m11]] / det
        new = (
            sp.factor((c11 * m22 - c12 * m21) / det),
            sp.factor((-c11 * m12 + c12 * m11) / det),
            sp.factor((-c12 * m12 + c22 * m11) / det),
        )
        flat = (Term(f.coef, f.alpha, sp.Integer(0), f.erf), Term(g.coef, g.alpha, sp.Integer(0), g.erf))
        return _pair(*flat, new, memo) / sp.sqrt(det)
    if f.alpha != 0 or g.alpha != 0:  # shift: the moment generating function
        if f.erf is not None or g.erf is not None:
            raise Unsupported("erf times exp(a x)")
        m1, m2 = c11 * f.alpha + c12 * g.alpha, c12 * f.alpha + c22 * g.alpha
        mgf = sp.exp((f.alpha * m1 + g.alpha * m2) / 2)
        shifted = (Term(_shift(f.coef, m1)), Term(_shift(g.coef, m2)))
        return mgf * _pair(*shifted, cov, memo)
    if f.erf is None and g.erf is None:
        return _wick(f.coef, g.coef, cov)
    return _stein(f, g, cov, memo)


def _shift(coef: tuple[sp.Expr, ...], m: sp.Expr) -> tuple[sp.Expr, ...]:
    poly = sp.expand(sum((c * (x + m) ** i for i, c in enumerate(coef)), sp.Integer(0)))
    return tuple(sp.Poly(poly, x).all_coeffs()[::-1])


def _wick(a: tuple[sp.Expr, ...], b: tuple[sp.Expr, ...], cov: Cov) -> sp.Expr:
    sub = dict(zip((q11, q12, q22), cov, strict=True))
    return sp.Add(
        *(
            ai * bj * gaussian_moment(i, j).xreplace(sub)
            for i, ai in enumerate(a)
            if ai != 0
            for j, bj in enumerate(b)
            if bj != 0
        )
    )


def _stein(f: Term, g: Term, cov: Cov, memo: dict) -> sp.Expr:
    c11, c12, c22 = cov
    if len(f.coef) > 1 or len(g.coef) > 1:
        first = len(f.coef) > 1
        term, other = (f, g) if first else (g, f)
        var_self, var_cross = (c11, c12) if first else (c22, c12)
        rest = Term(term.coef[:1], erf=term.erf)  # the constant part
        lowered = Term(term.coef[1:], erf=term.erf)  # term = rest + x * lowered
        parts = [_ordered(rest, other, first, cov, memo)]
        parts += [var_self * _ordered(d, other, first, cov, memo) for d in derivative(lowered)]
        parts += [var_cross * _ordered(lowered, d, first, cov, memo) for d in derivative(other)]
        return sp.Add(*parts)
    p, r = f.coef[0], g.coef[0]
    if f.erf is not None and g.erf is not None:
        a, b = f.erf, g.erf
        return (
            p
            * r
            * 2
            / sp.pi
            * sp.asin(2 * a * b * c12 / sp.sqrt((1 + 2 * a**2 * c11) * (1 + 2 * b**2 * c22)))
        )
    return sp.Integer(0)  # E[erf(a u)] = 0: erf is odd


def _ordered(a: Term, b: Term, first: bool, cov: Cov, memo: dict) -> sp.Expr:
    if all(c == 0 for c in a.coef) or all(c == 0 for c in b.coef):
        return sp.Integer(0)
    return _pair(a, b, cov, memo) if first else _pair(b, a, cov, memo)
