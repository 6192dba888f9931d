"""The derivation engine: the dual of an activation expression, derived symbolically.

For phi given as text (`{expr: "..."}`), the engine parses it with the whitelist parser, takes phi' by
`sp.diff` (for Piecewise/Max/Abs the piecewise derivative; the Dirac deltas of jumps carry no density
under a Gaussian and are dropped), and tries these methods in order, recording the one that succeeds:

1. polynomials: exact Gaussian moments by Wick / Isserlis (`rules.polynomial`);
2. a polynomial on each half-line (relu, leaky relu, abs, step, rectified powers, ...): mixed
   arc-cosine kernels and their half-line cross terms (`engine_piecewise`, Cho & Saul 2009);
3. sums of P(x) exp(a x + b x^2) [erf(c x)], which hold exp, sin, cos, Gaussians, erf, erfc and GELU:
   completing the square, the moment generating function and Stein's lemma (`engine_gaussian`);
4. otherwise the variance-fitted Gauss-Hermite quadrature (`rules.numerical.quadrature_dual`), with its
   error estimate.
Results are simplified and cached on disk (`engine_cache`).
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.expressions import parse_activation
from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.engine import cache as engine_cache
from ntksym.symbolic.engine import gaussian as engine_gaussian
from ntksym.symbolic.engine import piecewise as engine_piecewise
from ntksym.symbolic.rules.numerical import quadrature_dual
from ntksym.symbolic.rules.polynomial import SOURCE as WICK_SOURCE
from ntksym.symbolic.rules.polynomial import polynomial_pair_moment
from ntksym.symbolic.state import q11, q12, q22, x

MAX_POLYNOMIAL_DEGREE = 64
SIMPLIFY_OPS = 40  # forms up to this many operations get SymPy's full `simplify`

METHOD_WICK = "Wick moments"
METHOD_ARC_COSINE = "arc-cosine kernels"
METHOD_GAUSSIAN = "Gaussian integrals (completing the square)"
METHOD_STEIN = "Gaussian integrals (Stein's lemma, erf)"
METHOD_QUADRATURE = "quadrature"

SOURCE_GAUSSIAN = "moment generating / characteristic function of the Gaussian, completing the square"
SOURCE_STEIN = (
    "Stein's lemma and Gaussian tilting down to E[erf erf] (Williams 1997); cf. Tsuchida et al. 2021 for GELU"
)


def expression_dual(text: str, act: Activation) -> Dual:
    """The dual of the activation `text`; `act.params` holds the spec's hyperparameter values."""
    hyper = {name: float(value) for name, value in act.params}
    key = engine_cache.cache_key(text, hyper)
    cached = engine_cache.load(key)
    if cached is not None:
        return cached
    dual = derive_dual(parse_activation(text, hyper))
    engine_cache.store(key, dual)
    return dual


def derive_dual(phi: sp.Expr) -> Dual:
    """The dual of phi(x), by the first method that applies."""
    dphi = derivative(phi)
    for method in (_polynomial, _half_lines, _gaussian):
        try:
            dual = method(phi, dphi)
        except engine_gaussian.Unsupported:
            continue
        if dual is not None:
            return dual
    return quadrature_dual(phi, dphi, METHOD_QUADRATURE)


def derivative(phi: sp.Expr) -> sp.Expr:
    """phi' almost everywhere: the symbolic derivative without Dirac deltas."""
    dphi = sp.diff(phi, x)
    return dphi.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.Integer(0))


def degree_bound(expr: sp.Expr) -> int | None:
    """An upper bound of the polynomial degree in x, cheap (without expanding), or None."""
    if not expr.has(x):
        return 0
    if expr == x:
        return 1
    if expr.is_Add or expr.is_Mul:
        parts = [degree_bound(a) for a in expr.args]
        degrees = [p for p in parts if p is not None]
        if len(degrees) < len(parts):
            return None
        return max(degrees) if expr.is_Add else sum(degrees)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
        base = degree_bound(expr.base)
        return None if base is None else base * int(expr.exp)
    return None


def _polynomial(phi: sp.Expr, dphi: sp.Expr) -> Dual | None:
    degree = degree_bound(phi)
    if degree is None or degree > MAX_POLYNOMIAL_DEGREE:
        return None
    coef = sp.Poly(sp.expand(phi), x).all_coeffs()[::-1]
    dcoef = [i * c for i, c in enumerate(coef)][1:] or [sp.Integer(0)]
    nngp, ntk = polynomial_pair_moment(coef, coef), polynomial_pair_moment(dcoef, dcoef)
    diag = {q12: q11, q22: q11}  # polynomials: expanding is enough (simplify is slow at high degree)
    return Dual(nngp, ntk, sp.expand(nngp.subs(diag)), sp.expand(ntk.subs(diag)), METHOD_WICK, WICK_SOURCE)


def _half_lines(phi: sp.Expr, dphi: sp.Expr) -> Dual | None:
    parts = engine_piecewise.half_line_parts(phi)
    if parts is None:
        return None
    nngp, nngp_diag = engine_piecewise.half_line_kernel(*parts)
    ntk, ntk_diag = engine_piecewise.half_line_kernel(*engine_piecewise.derivative_parts(*parts))
    return Dual(nngp, ntk, nngp_diag, ntk_diag, METHOD_ARC_COSINE, engine_piecewise.SOURCE)


def _gaussian(phi: sp.Expr, dphi: sp.Expr) -> Dual:
    f, df = engine_gaussian.decompose(phi), engine_gaussian.decompose(dphi)
    cross, diag = (q11, q12, q22), (q11, q11, q11)
    forms = [_tidy(engine_gaussian.expectation(a, a, cov)) for a in (f, df) for cov in (cross, diag)]
    has_erf = any(t.erf is not None for t in f)
    method, source = (METHOD_STEIN, SOURCE_STEIN) if has_erf else (METHOD_GAUSSIAN, SOURCE_GAUSSIAN)
    return Dual(forms[0], forms[2], forms[1], forms[3], method, source)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Real and as short as cheap rewriting makes it. sin/cos enter as exp(+-i b x), whose imaginary
    parts cancel in the sum. Full `sp.simplify` is tried on small forms only: on large ones it takes
    seconds and often lengthens them."""
    if expr.has(sp.I):
        expr = sp.re(sp.expand_complex(expr))
    candidates = [expr, sp.factor_terms(expr)]
    if sp.count_ops(expr) <= SIMPLIFY_OPS:
        candidates.append(sp.simplify(expr))
    return min(candidates, key=sp.count_ops)
