"""Every named activation of SPEC_FORMAT.md is also an expression: the engine, given the expression,
reproduces the foundation's rule (`ACTIVATION_RULES`) to 1e-12 where both are closed forms, and builds
the same quadrature (the same phi and phi') where neither has one."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from test_expressions_engine import random_states, values

import ntksym
from ntksym.activations import ACTIVATIONS
from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import GaussianExpectation, GaussianExpectationDiag
from ntksym.symbolic.duals import ACTIVATION_RULES
from ntksym.symbolic.engine import expression_dual

SELU = "1.0507009873554804934*Piecewise((x, x > 0), (1.6732632423543772848*(exp(x) - 1), True))"
# name -> (parameters of the named form, the same function as an expression)
NAMED: dict[str, tuple[dict, str]] = {
    "identity": ({}, "x"),
    "relu": ({}, "Max(x, 0)"),
    "leaky_relu": ({"alpha": 0.01}, "Max(x, 0) + 0.01*Min(x, 0)"),
    "abrelu": ({"a": -0.3, "b": 1.5}, "-0.3*Min(x, 0) + 1.5*Max(x, 0)"),
    "abs": ({}, "abs(x)"),
    "step": ({}, "Heaviside(x)"),
    "erf": ({"a": 2.0, "b": 0.7, "c": 0.1}, "2*erf(0.7*x) + 0.1"),
    "gelu": ({}, "x*(1 + erf(x/sqrt(2)))/2"),
    "sin": ({"a": 1.5, "b": 0.8, "c": 0.3}, "1.5*sin(0.8*x + 0.3)"),
    "cos": ({"a": 0.7, "b": 1.2, "c": -0.4}, "0.7*cos(1.2*x - 0.4)"),
    "exp": ({"a": 0.5, "b": 0.7}, "0.5*exp(0.7*x)"),
    "gaussian": ({"a": 1.2, "b": -0.6}, "1.2*exp(-0.6*x**2)"),
    "monomial": ({"degree": 3}, "x**3"),
    "rectified_monomial": ({"degree": 2}, "Max(x, 0)**2"),
    "polynomial": ({"coef": (0.1, -1.0, 0.5, 0.2)}, "0.1 - x + 0.5*x**2 + 0.2*x**3"),
    "hermite": ({"degree": 3}, "(x**3 - 3*x)/sqrt(6)"),
    "tanh": ({}, "tanh(x)"),
    "sigmoid": ({}, "sigmoid(x)"),
    "softplus": ({}, "log(1 + exp(x))"),
    "silu": ({}, "x*sigmoid(x)"),
    "elu": ({}, "Piecewise((x, x > 0), (exp(x) - 1, True))"),
    "selu": ({}, SELU),
}
QUADRATURE = {"tanh", "sigmoid", "softplus", "silu", "elu", "selu"}


def test_every_named_activation_has_an_expression():
    assert set(NAMED) == set(ACTIVATIONS)


def _named(name: str) -> Activation:
    params, _ = NAMED[name]
    fields = ACTIVATIONS[name].params
    return Activation(name, tuple((k, params.get(k, f.default)) for k, f in fields.items()))


@pytest.mark.parametrize("name", sorted(set(NAMED) - QUADRATURE))
def test_engine_matches_the_closed_form_rule(name):
    text = NAMED[name][1]
    rule, derived = ACTIVATION_RULES[name](_named(name)), expression_dual(text, Activation("expr", (), text))
    assert derived.is_closed_form and rule.is_closed_form
    for state in random_states(3, seed=hash(name) % 1000):
        np.testing.assert_allclose(values(derived, state), values(rule, state), rtol=1e-12, atol=1e-14)


def _functions(expr) -> list[sp.Lambda]:
    return [arg for e in expr.atoms(GaussianExpectation, GaussianExpectationDiag) for arg in e.args[:2]]


@pytest.mark.parametrize("name", sorted(QUADRATURE))
def test_engine_builds_the_same_quadrature_as_the_rule(name):
    """Neither has a closed form: the quadratures must integrate the same phi and phi' (to 1e-12)."""
    text = NAMED[name][1]
    rule, derived = ACTIVATION_RULES[name](_named(name)), expression_dual(text, Activation("expr", (), text))
    assert derived.method == "quadrature" and derived.error == rule.error
    points = np.linspace(-30, 30, 241)
    for part in ("nngp", "ntk_factor"):
        ours, theirs = _functions(getattr(derived, part)), _functions(getattr(rule, part))
        for f, g in zip(ours, theirs, strict=True):
            fa, ga = sp.lambdify(f.variables, f.expr, "numpy"), sp.lambdify(g.variables, g.expr, "numpy")
            with np.errstate(over="ignore"):
                np.testing.assert_allclose(
                    fa(points) * np.ones_like(points),
                    ga(points) * np.ones_like(points),
                    rtol=1e-12,
                    atol=1e-12,
                )


# each compiles a Mehler series and its quadrature twice (8-65 s on 2 cores): all with `make test-slow`; by
# default the engine's phi and phi' are checked to be the named rule's at 241 points (above)
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUADRATURE))
def test_compiled_expression_kernel_matches_the_named_one_within_the_error_estimate(name):
    from conftest import spec_text

    x = np.random.default_rng(1).normal(size=(4, 3))
    kernels = []
    for act in (f"{{name: {name}}}", f'{{expr: "{NAMED[name][1]}"}}'):
        layers = f"  - dense: {{w_std: 1.3, b_std: 0.2}}\n  - activation: {act}\n  - dense: {{w_std: 1.0}}\n"
        model = ntksym.compile(ntksym.parse_spec(spec_text(layers, name=f"q-{name}")), dtype="float64")
        kernels.append(model.kernel(x))
    error = ACTIVATION_RULES[name](_named(name)).error
    named, derived = kernels
    for a, b in ((named.nngp, derived.nngp), (named.ntk, derived.ntk)):
        np.testing.assert_allclose(b, a, rtol=4 * error, atol=1e-12)


def test_no_named_rule_lacks_a_closed_form_the_engine_finds():
    """Where the engine found a closed form the foundation lacked, the foundation would use it."""
    for name in QUADRATURE:
        text = NAMED[name][1]
        assert not expression_dual(text, Activation("expr", (), text)).is_closed_form, name
