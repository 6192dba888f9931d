"""Every closed-form activation rule against independent numerical integration (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from integration_reference import expect_pair, expect_same, random_covariances, relative_error
from scipy.special import erf as sc_erf

from ntksym.spec.schema import Activation
from ntksym.symbolic.duals import ACTIVATION_RULES
from ntksym.symbolic.rules.numerical import NUMERICAL
from ntksym.symbolic.state import q11, q12, q22

SQ2 = math.sqrt(2.0)


def _phi(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / SQ2))


def _he(n: int, x: float) -> float:
    a, b = 1.0, x
    if n == 0:
        return 1.0
    for k in range(1, n):
        a, b = b, x * b - k * a
    return b


# name, params, phi, phi' (plain Python: independent of the SymPy rules)
CASES = [
    ("identity", {}, lambda x: x, lambda x: 1.0),
    ("relu", {}, lambda x: max(x, 0.0), lambda x: float(x > 0)),
    ("leaky_relu", {"alpha": 0.1}, lambda x: x if x > 0 else 0.1 * x, lambda x: 1.0 if x > 0 else 0.1),
    ("abrelu", {"a": -0.3, "b": 1.7}, lambda x: 1.7 * x if x > 0 else -0.3 * x, lambda x: 1.7 if x > 0 else -0.3),
    ("abs", {}, abs, lambda x: 1.0 if x > 0 else -1.0),
    ("step", {}, lambda x: float(x > 0), lambda x: 0.0),
    ("erf", {"a": 1.3, "b": 0.7, "c": 0.2}, lambda x: 1.3 * math.erf(0.7 * x) + 0.2,
     lambda x: 1.3 * 0.7 * 2 / math.sqrt(math.pi) * math.exp(-0.49 * x * x)),
    ("gelu", {}, lambda x: x * _Phi(x), lambda x: _Phi(x) + x * _phi(x)),
    ("sin", {"a": 1.1, "b": 0.8, "c": 0.3}, lambda x: 1.1 * math.sin(0.8 * x + 0.3), lambda x: 1.1 * 0.8 * math.cos(0.8 * x + 0.3)),
    ("cos", {"a": 0.9, "b": 1.2, "c": -0.4}, lambda x: 0.9 * math.cos(1.2 * x - 0.4), lambda x: -0.9 * 1.2 * math.sin(1.2 * x - 0.4)),
    ("exp", {"a": 0.7, "b": 0.3}, lambda x: 0.7 * math.exp(0.3 * x), lambda x: 0.21 * math.exp(0.3 * x)),
    ("gaussian", {"a": 1.2, "b": -0.6}, lambda x: 1.2 * math.exp(-0.6 * x * x), lambda x: -1.44 * x * math.exp(-0.6 * x * x)),
    ("monomial", {"degree": 3}, lambda x: x**3, lambda x: 3 * x * x),
    ("rectified_monomial", {"degree": 2}, lambda x: max(x, 0.0) ** 2, lambda x: 2 * max(x, 0.0)),
    ("rectified_monomial", {"degree": 3}, lambda x: max(x, 0.0) ** 3, lambda x: 3 * max(x, 0.0) ** 2),
    ("polynomial", {"coef": (0.5, -1.0, 0.25, 0.1)}, lambda x: 0.5 - x + 0.25 * x * x + 0.1 * x**3,
     lambda x: -1 + 0.5 * x + 0.3 * x * x),
    ("hermite", {"degree": 3}, lambda x: _he(3, x) / math.sqrt(6), lambda x: 3 * _he(2, x) / math.sqrt(6)),
]


def _evaluate(expr: sp.Expr, a: float, b: float, c: float) -> float:
    return float(sp.N(expr.subs({q11: a, q12: b, q22: c}), 30))


@pytest.mark.parametrize("name, params, f, df", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_closed_form_dual_matches_numerical_integration(name, params, f, df):
    dual = ACTIVATION_RULES[name](Activation(name, tuple(params.items())))
    assert dual.is_closed_form
    for a, b, c in random_covariances(np.random.default_rng(0), 5):
        # errors relative to the Cauchy-Schwarz bound sqrt(E f(u)^2 E f(v)^2): odd activations give exact zeros
        scale = math.sqrt(expect_same(f, f, a) * expect_same(f, f, c))
        assert abs(_evaluate(dual.nngp, a, b, c) - expect_pair(f, f, a, b, c)) < 1e-8 * scale, (a, b, c)
        if name != "step":  # step's derivative is a Dirac delta; its NTK factor is defined as 0
            scale = math.sqrt(expect_same(df, df, a) * expect_same(df, df, c))
            assert abs(_evaluate(dual.ntk_factor, a, b, c) - expect_pair(df, df, a, b, c)) < 1e-8 * scale, (a, b, c)
        assert relative_error(_evaluate(dual.nngp_diag, a, a, a), expect_same(f, f, a)) < 1e-8, a
        if name != "step":
            assert relative_error(_evaluate(dual.ntk_factor_diag, a, a, a), expect_same(df, df, a)) < 1e-8, a


@pytest.mark.parametrize("name, params, f, df", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_diagonal_form_is_the_limit_of_the_cross_form(name, params, f, df):
    dual = ACTIVATION_RULES[name](Activation(name, tuple(params.items())))
    for a in (0.3, 1.0, 2.5):
        assert relative_error(_evaluate(dual.nngp, a, a, a), _evaluate(dual.nngp_diag, a, a, a)) < 1e-12


def test_every_named_activation_has_a_rule():
    from ntksym.activations import ACTIVATIONS

    assert set(ACTIVATIONS) == set(ACTIVATION_RULES)
    closed = {c[0] for c in CASES}
    assert closed | set(NUMERICAL) == set(ACTIVATIONS)


def test_erf_matches_williams_formula_at_unit_scale():
    dual = ACTIVATION_RULES["erf"](Activation("erf", (("a", 1.0), ("b", 1.0), ("c", 0.0))))
    a, b, c = 0.7, 0.3, 1.9
    want = 2 / math.pi * math.asin(2 * b / math.sqrt((1 + 2 * a) * (1 + 2 * c)))
    assert relative_error(_evaluate(dual.nngp, a, b, c), want) < 1e-14
    assert sc_erf(0.5) == pytest.approx(math.erf(0.5))
