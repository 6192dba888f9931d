"""The derivation engine: which method derives which expression, and that the result is right.

Every closed form is checked against an independent nested adaptive quadrature (scipy) at random
(q11, q12, q22), for the cross and same-input forms of both E[phi phi] and E[phi' phi'].
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import sympy as sp
from integration_reference import expect_pair, expect_same

from ntksym.spec.schema import Activation
from ntksym.symbolic import engine
from ntksym.symbolic.dual import GaussianExpectation
from ntksym.symbolic.engine import cache as engine_cache
from ntksym.symbolic.engine import derive_dual, expression_dual
from ntksym.symbolic.state import q11, q12, q22

_erf = math.erf
# The acceptance expressions with phi and phi' written by hand (independent of SymPy).
CLOSED = {
    "x**3 - 0.5*x": ("Wick moments", lambda z: z**3 - 0.5 * z, lambda z: 3 * z**2 - 0.5),
    "sin(x) + 0.5*cos(2*x)": (
        "Gaussian integrals (completing the square)",
        lambda z: math.sin(z) + 0.5 * math.cos(2 * z),
        lambda z: math.cos(z) - math.sin(2 * z),
    ),
    "Piecewise((x, x > 0), (0.2*x, True))": (
        "arc-cosine kernels",
        lambda z: z if z > 0 else 0.2 * z,
        lambda z: 1.0 if z > 0 else 0.2,
    ),
    "Piecewise((x**2, x > 0), (0, True))": (
        "arc-cosine kernels",
        lambda z: z * z if z > 0 else 0.0,
        lambda z: 2 * z if z > 0 else 0.0,
    ),
    "exp(-x**2) + x": (
        "Gaussian integrals (completing the square)",
        lambda z: math.exp(-z * z) + z,
        lambda z: 1 - 2 * z * math.exp(-z * z),
    ),
    "x*erf(x)": (
        "Gaussian integrals (Stein's lemma, erf)",
        lambda z: z * _erf(z),
        lambda z: _erf(z) + 2 * z / math.sqrt(math.pi) * math.exp(-z * z),
    ),
    "Max(x, 0)**2 - 0.5*Min(x, 0)**3 + Heaviside(x) - 1": (
        "arc-cosine kernels",
        lambda z: z * z if z > 0 else -0.5 * z**3 - 1,
        lambda z: 2 * z if z > 0 else -1.5 * z * z,
    ),
    "exp(0.3*x)*cos(x) - x**2*exp(-0.4*x**2)": (
        "Gaussian integrals (completing the square)",
        lambda z: math.exp(0.3 * z) * math.cos(z) - z * z * math.exp(-0.4 * z * z),
        lambda z: (
            math.exp(0.3 * z) * (0.3 * math.cos(z) - math.sin(z))
            - (2 * z - 0.8 * z**3) * math.exp(-0.4 * z * z)
        ),
    ),
}


def random_states(n: int, seed: int = 0) -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b = rng.uniform(0.2, 2.0, size=2)
        rho = rng.uniform(-0.95, 0.95)
        out.append((float(a), float(rho * math.sqrt(a * b)), float(b)))
    return out


def values(dual, state) -> list[float]:
    a, c, b = state
    cross = [float(sp.lambdify((q11, q12, q22), e, "math")(a, c, b)) for e in (dual.nngp, dual.ntk_factor)]
    diag = [float(sp.lambdify(q11, e, "math")(a)) for e in (dual.nngp_diag, dual.ntk_factor_diag)]
    return cross + diag


def expr_act(text: str, **hyper: float) -> Activation:
    return Activation("expr", tuple(hyper.items()), text)


SLOW = {"exp(0.3*x)*cos(x) - x**2*exp(-0.4*x**2)"}


@pytest.mark.parametrize(
    "text", [pytest.param(t, marks=pytest.mark.slow) if t in SLOW else t for t in CLOSED]
)
def test_closed_forms_agree_with_numerical_integration(text):
    method, f, df = CLOSED[text]
    dual = expression_dual(text, expr_act(text))
    assert dual.method == method and dual.is_closed_form and dual.error is None
    for state in random_states(2, seed=len(text)):
        got = values(dual, state)
        want = [
            expect_pair(f, f, *state),
            expect_pair(df, df, *state),
            expect_same(f, f, state[0]),
            expect_same(df, df, state[0]),
        ]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_hyperparameters_stay_symbols_and_exponents_take_their_values():
    dual = expression_dual("a*Max(x, 0)**n", expr_act("a*Max(x, 0)**n", a=1.5, n=2.0))
    assert dual.method == "arc-cosine kernels"
    assert sp.Symbol("a", real=True) in dual.nngp.free_symbols
    assert sp.simplify(dual.nngp_diag - sp.Rational(3, 2) * sp.Symbol("a", real=True) ** 2 * q11**2) == 0


@pytest.mark.parametrize(
    "text", ["tanh(2*x)", "log(1 + exp(x))", "Piecewise((x, x > 0), (exp(x) - 1, True))"]
)
def test_no_closed_form_falls_back_to_quadrature_with_an_error_estimate(text):
    dual = derive_dual(engine.parse_activation(text, {}))
    assert dual.method == "quadrature" and not dual.is_closed_form
    assert dual.error is not None and dual.error <= 1e-6
    assert dual.nngp.has(GaussianExpectation)


def test_piecewise_derivative_is_the_piecewise_one():
    phi = engine.parse_activation("Piecewise((x**2, x > 0), (3*x, True))", {})
    dphi = engine.derivative(phi)
    assert dphi.subs(engine.x, 2) == 4 and dphi.subs(engine.x, -2) == 3


def test_high_degree_polynomial_is_exact():
    text = "(x - 1)**12"
    dual = expression_dual(text, expr_act(text))
    assert dual.method == "Wick moments"
    # E[(u - 1)^24] for u ~ N(0, 1): sum_k C(24, 2k) (2k-1)!!
    want = sum(math.comb(24, 2 * k) * math.prod(range(1, 2 * k, 2)) for k in range(13))
    assert dual.nngp_diag.subs(q11, 1) == want


def test_cached_dual_is_read_back_without_deriving(monkeypatch):
    text = "x**5 - x"
    first = expression_dual(text, expr_act(text))
    monkeypatch.setattr(engine, "derive_dual", lambda phi: pytest.fail("derived again instead of cached"))
    again = expression_dual(text, expr_act(text))
    assert again == first


def test_cache_key_depends_on_text_and_hyperparameter_values():
    base = engine_cache.cache_key("a*x", {"a": 1.0})
    assert base != engine_cache.cache_key("a*x", {"a": 2.0})
    assert base != engine_cache.cache_key("a*x ", {"a": 1.0})


def test_corrupted_cache_entry_is_rebuilt():
    text = "x**4 + x"
    key = engine_cache.cache_key(text, {})
    path = engine_cache.entry_path(key)
    expression_dual(text, expr_act(text))
    path.write_bytes(b"not a pickle")
    dual = expression_dual(text, expr_act(text))
    assert dual.method == "Wick moments"
    assert isinstance(pickle.loads(path.read_bytes()), type(dual))
