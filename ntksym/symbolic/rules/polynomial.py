"""Polynomial activations: identity, monomial, polynomial, hermite.

Exact Gaussian moments by Wick / Isserlis: pairing k of the u's with k of the v's and the rest among
themselves gives
  E[u^i v^j] = sum_k C(i,k) C(j,k) k! q12^k (i-k-1)!! q11^((i-k)/2) (j-k-1)!! q22^((j-k)/2),
over k <= min(i, j) with i - k and j - k even. Then E[p(u) p(v)] = sum_ij c_i c_j E[u^i v^j], and the
derivative dual uses p' (Daniely et al. 2016 for the Hermite form).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual, diagonal_of
from ntksym.symbolic.state import q11, q12, q22, x
from ntksym.symbolic.values import to_sympy

SOURCE = "Wick/Isserlis moments"


def gaussian_moment(i: int, j: int) -> sp.Expr:
    """E[u^i v^j] for (u, v) ~ N(0, [[q11, q12], [q12, q22]])."""
    total = sp.Integer(0)
    for k in range(min(i, j) + 1):
        if (i - k) % 2 or (j - k) % 2:
            continue
        total += (sp.binomial(i, k) * sp.binomial(j, k) * sp.factorial(k) * q12**k
                  * sp.factorial2(i - k - 1) * q11 ** ((i - k) // 2)
                  * sp.factorial2(j - k - 1) * q22 ** ((j - k) // 2))
    return total


def polynomial_pair_moment(a: Sequence[sp.Expr], b: Sequence[sp.Expr]) -> sp.Expr:
    """E[p(u) r(v)] for coefficient lists (lowest degree first)."""
    return sp.expand(sum((ai * bj * gaussian_moment(i, j) for i, ai in enumerate(a) if ai != 0
                          for j, bj in enumerate(b) if bj != 0), sp.Integer(0)))


def derivative_coefficients(coef: Sequence[sp.Expr]) -> list[sp.Expr]:
    return [i * c for i, c in enumerate(coef)][1:] or [sp.Integer(0)]


def polynomial_dual(coef: Sequence[sp.Expr]) -> Dual:
    coef = list(coef)
    dcoef = derivative_coefficients(coef)
    nngp, ntk = polynomial_pair_moment(coef, coef), polynomial_pair_moment(dcoef, dcoef)
    return Dual(nngp, ntk, diagonal_of(nngp), diagonal_of(ntk), "Wick moments", SOURCE)


def identity(act: Activation) -> Dual:
    return polynomial_dual([sp.Integer(0), sp.Integer(1)])


def monomial(act: Activation) -> Dual:
    degree = int(act.param("degree"))
    return polynomial_dual([sp.Integer(0)] * degree + [sp.Integer(1)])


def polynomial(act: Activation) -> Dual:
    return polynomial_dual([to_sympy(c) for c in act.param("coef")])


def hermite_coefficients(degree: int) -> list[sp.Expr]:
    """He_n(x) / sqrt(n!), the normalised probabilists' Hermite polynomial, lowest degree first."""
    poly = sp.Poly(sp.hermite_prob(degree, x), x)
    scale = sp.sqrt(sp.factorial(degree))
    return [c / scale for c in reversed(poly.all_coeffs())]


def hermite(act: Activation) -> Dual:
    return polynomial_dual(hermite_coefficients(int(act.param("degree"))))
