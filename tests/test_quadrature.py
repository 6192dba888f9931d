"""The generated Gaussian expectations (`prelude_mehler`: the Mehler series, the variance-fitted quadrature
of `prelude_quadrature` as its fallback) against independent adaptive integration.

References are nested `scipy.integrate.quad` (QUADPACK) in the original variables, split at the kinks
and at the activations' scale, so they share nothing with the rule under test. Errors are relative
to sqrt(E[f(u)^2] E[f(v)^2]), the natural scale of E[f(u) f(v)] (it can vanish, e.g. tanh at rho=0).
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference_kernels import kernels
from scipy import integrate
from scipy.special import expit

import ntksym
from ntksym.codegen.preludes import mehler as mehler
from ntksym.codegen.preludes import quadrature as quad
from ntksym.codegen.quadrature_error import as_function, estimate_error
from ntksym.errors import InputError
from ntksym.symbolic.rules.numerical import QUADRATURE_ERROR, activation_functions

ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
# numpy forms written independently of rules/numerical.py (used by the references only)
NUMPY = {
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "sigmoid": (expit, lambda x: expit(x) * expit(-x)),
    "softplus": (lambda x: np.logaddexp(0, x), expit),
    "silu": (lambda x: x * expit(x), lambda x: expit(x) * (1 + x * expit(-x))),
    "elu": (lambda x: x if x > 0 else math.expm1(x), lambda x: 1.0 if x > 0 else math.exp(x)),
    "selu": (lambda x: SCALE * (x if x > 0 else ALPHA * math.expm1(x)),
             lambda x: SCALE * (1.0 if x > 0 else ALPHA * math.exp(x))),
}
JAX = {name: tuple(as_function(e) for e in activation_functions(name)) for name in NUMPY}
PAIR = jax.jit(mehler._expect_pair, static_argnums=(0, 1))  # eager dispatch compiles op by op: slower
SAME = jax.jit(quad._expect_same, static_argnums=(0, 1))
# phi and phi' in one call, as the generated modules ask for them (one program instead of two)
PAIRS = jax.jit(mehler._expect_pairs, static_argnums=0)
SAMES = jax.jit(quad._expect_sames, static_argnums=0)


def _pairs(name):
    return tuple((f, f) for f in JAX[name])
TOL = 1e-10  # at the points of the default tests; QUADRATURE_ERROR bounds the slow grid
BREAKS = (0.0, -1.0, 1.0, -3.0, 3.0, -10.0, 10.0, -30.0, 30.0)


def _quad(fn, lo, hi, points=()):
    edges = [lo, *sorted(p for p in set(points) if lo < p < hi), hi]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sum(integrate.quad(fn, a, b, epsabs=1e-17, epsrel=2e-14, limit=400)[0]
                   for a, b in zip(edges[:-1], edges[1:], strict=True))


def _density(x, mean, sd):
    return math.exp(-(((x - mean) / sd) ** 2) / 2) / (sd * math.sqrt(2 * math.pi))


def reference_same(f, g, q):
    sd = math.sqrt(q)
    return _quad(lambda x: f(x) * g(x) * _density(x, 0, sd), -10 * sd, 10 * sd, BREAKS)


def reference_pair(f, g, q11, q12, q22):
    """Nested adaptive quadrature of E[f(u) g(v)] through v | u ~ N(beta u, s^2)."""
    sd1, beta = math.sqrt(q11), q12 / q11
    s = math.sqrt(max(q22 - beta * q12, 0.0))

    def inner(x):
        m = beta * x
        if s <= 1e-12 * max(1.0, abs(m)):
            return g(m)
        return _quad(lambda y: g(y) * _density(y, m, s), m - 10 * s, m + 10 * s, (*BREAKS, m))

    points = [0.0] + [p / max(abs(beta), 1e-300) for p in BREAKS if p] + list(BREAKS)
    return _quad(lambda x: f(x) * inner(x) * _density(x, 0, sd1), -10 * sd1, 10 * sd1, points)


def relative_errors(name, q11, rho, q22):
    """The errors of E[phi(u) phi(v)] and E[phi'(u) phi'(v)], relative to sqrt(E[f(u)^2] E[f(v)^2])."""
    q12 = rho * math.sqrt(q11 * q22)
    errors = []
    for f_np, got in zip(NUMPY[name], PAIRS(_pairs(name), q11, q12, q22), strict=True):
        want = reference_pair(f_np, f_np, q11, q12, q22)
        scale = math.sqrt(reference_same(f_np, f_np, q11) * reference_same(f_np, f_np, q22))
        errors.append(abs(float(got) - want) / scale)
    return errors


@pytest.mark.parametrize("name", sorted(NUMPY))
def test_same_input_matches_adaptive_integration_at_every_variance(name):
    qs = [1e-6, 1e-3, 0.5, 3.0, 100.0, 1e4]
    for f_np, got in zip(NUMPY[name], SAMES(_pairs(name), jnp.asarray(qs)), strict=True):
        want = np.array([reference_same(f_np, f_np, q) for q in qs])
        np.testing.assert_allclose(np.asarray(got), want, rtol=TOL, atol=0)


# one compile of the Mehler series and its fallback per family (about 5 s on 2 cores): a smooth (tanh), a
# logistic (sigmoid) and a kinked one (elu) by default, the other three with `make test-slow`
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in ("tanh", "sigmoid", "elu") else (pytest.mark.slow,))
                                  for n in sorted(NUMPY)])
def test_pair_matches_nested_adaptive_integration(name):
    # a near-degenerate, a strongly anisotropic and a wide-variance pair
    for q11, rho, q22 in ((0.5, 0.999, 30.0), (1e4, -0.6, 1e-6)):
        assert max(relative_errors(name, q11, rho, q22)) <= TOL, (name, q11, rho, q22)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NUMPY))
def test_pair_matches_nested_adaptive_integration_on_a_grid(name):
    variances = (1e-6, 1e-2, 1.0, 30.0, 1e4)
    rhos = (-1.0, -0.6, 0.0, 0.3, 0.99, 0.999, 0.99999, 1.0)
    worst = max(max(relative_errors(name, a, r, b))
                for i, a in enumerate(variances) for b in variances[i:] for r in rhos)
    print(f"{name}: worst relative error {worst:.1e}")
    assert worst <= QUADRATURE_ERROR, worst  # measured worst: 1.2e-11 (silu), docs/quadrature.md
    q11, q22 = np.meshgrid(variances, variances)
    q12 = 0.999 * np.sqrt(q11 * q22)
    assert estimate_error(*activation_functions(name), q11, q12, q22).worst <= QUADRATURE_ERROR


@pytest.mark.parametrize("name", sorted(NUMPY))
def test_degenerate_correlations_reduce_to_one_dimensional_integrals(name):
    f_np, f_jax = NUMPY[name][0], JAX[name][0]
    for q11, q22 in ((1e-6, 1e4), (2.0, 2.0), (1e4, 0.3)):
        beta = math.sqrt(q22 / q11)
        sd = math.sqrt(q11)
        for sign in (1.0, -1.0):  # rho = +-1: v = +-beta u exactly
            def integrand(x, c=sign * beta, sd=sd):
                return f_np(x) * f_np(c * x) * _density(x, 0, sd)

            want = _quad(integrand, -10 * sd, 10 * sd, [0.0, *[p / beta for p in BREAKS if p], *BREAKS])
            got = float(PAIR(f_jax, f_jax, q11, sign * math.sqrt(q11 * q22), q22))
            scale = math.sqrt(reference_same(f_np, f_np, q11) * reference_same(f_np, f_np, q22))
            assert abs(got - want) <= TOL * scale
        # q12 = 0: independent, E[f(u)] E[f(v)]
        one = lambda x: 1.0  # noqa: E731
        want = reference_same(f_np, one, q11) * reference_same(f_np, one, q22)
        got = float(PAIR(f_jax, f_jax, q11, 0.0, q22))
        scale = math.sqrt(reference_same(f_np, f_np, q11) * reference_same(f_np, f_np, q22))
        assert abs(got - want) <= TOL * scale


@pytest.mark.slow  # 30-50 s on 2 cores: every Mehler branch and the fallback compile per activation
def test_pair_is_symmetric_in_its_two_variances():
    a = jnp.asarray([1e-6, 0.3, 7.0, 1e4])[:, None]
    b = a.T
    q12 = 0.7 * jnp.sqrt(a * b)
    for name in ("tanh", "elu"):
        f = JAX[name][0]
        one, two = PAIR(f, f, a, q12, b), PAIR(f, f, b, q12, a)
        scale = jnp.sqrt(SAME(f, f, a) * SAME(f, f, b))
        assert float(jnp.max(jnp.abs(one - two) / scale)) <= 1e-11, name


# smooth (tanh) by default, kinked (selu) with `make test-slow`: each compiles every Mehler branch (8 s)
SMOOTH_AND_KINKED = ["tanh", pytest.param("selu", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", SMOOTH_AND_KINKED)
def test_pair_at_full_correlation_equals_the_same_input_rule(name):
    q = jnp.asarray([1e-6, 1e-2, 1.0, 50.0, 1e4])
    for same, pair in zip(SAMES(_pairs(name), q), PAIRS(_pairs(name), q, q, q), strict=True):
        np.testing.assert_allclose(np.asarray(pair), np.asarray(same), rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.slow  # 30-50 s on 2 cores: every Mehler branch and the fallback compile per activation
def test_float32_is_finite_at_extreme_and_degenerate_variances():
    q = jnp.asarray([0.0, 1e-6, 1.0, 1e4], jnp.float32)
    for name in ("tanh", "selu"):
        for f in JAX[name]:
            same = SAME(f, f, q)
            pair = PAIR(f, f, q[:, None], jnp.sqrt(q[:, None] * q[None, :]) * 0.999, q[None, :])
            full = PAIR(f, f, q, q, q)
            for out in (same, pair, full):
                assert out.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(out))), name
            np.testing.assert_allclose(np.asarray(full), np.asarray(same), rtol=1e-5, atol=1e-30)


def test_large_batches_loop_over_outer_nodes_with_the_same_result(monkeypatch):
    a = jnp.linspace(0.1, 40.0, 7)[:, None]
    b = a.T
    q12 = 0.5 * jnp.sqrt(a * b)
    whole = jax.jit(lambda x, y, z: quad._expect_pair_quadrature(jnp.tanh, jnp.tanh, x, y, z))(a, q12, b)
    monkeypatch.setattr(quad, "_QUAD_MAX_ELEMENTS", 20_000)
    looped = jax.jit(lambda x, y, z: quad._expect_pair_quadrature(jnp.tanh, jnp.tanh, x, y, z))(a, q12, b)
    np.testing.assert_allclose(np.asarray(looped), np.asarray(whole), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", SMOOTH_AND_KINKED)  # all six in the slow grid test
def test_error_estimate_is_below_the_stated_bound_and_refuses_bad_covariances(name):
    q11 = jnp.asarray([1e-6, 1.0, 1e4, 1e4])
    q22 = jnp.asarray([1e4, 1.0, 1e4, 1e-6])
    q12 = jnp.asarray([0.999, 0.5, -1.0, 0.2]) * jnp.sqrt(q11 * q22)
    assert estimate_error(*activation_functions(name), q11, q12, q22).worst <= QUADRATURE_ERROR
    with pytest.raises(InputError, match="covariance"):
        estimate_error(*activation_functions("tanh"), 1.0, 2.0, 1.0)


@pytest.mark.slow  # 7 s; tanh against neural-tangents in test_reference.py; depth 1000: test_numerical_extremes.py
def test_deep_tanh_kernel_is_finite_symmetric_positive_semidefinite_and_right():
    text = """ntksym: 1
name: deep-tanh
input_shape: [5]
layers:
  - repeat: 50
    layers:
      - dense: {w_std: 1.5, b_std: 0.2}
      - activation: tanh
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""
    model = ntksym.compile(ntksym.parse_spec(text), dtype="float64")
    x = np.random.default_rng(1).normal(size=(6, 5))
    x[1] = 3 * x[0]  # a parallel pair: correlation exactly 1 up to rounding
    k = model.kernel(x)
    for matrix in (k.nngp, k.ntk):
        assert np.all(np.isfinite(matrix))
        np.testing.assert_array_equal(matrix, matrix.T)
        eig = np.linalg.eigvalsh(matrix)
        assert eig.min() >= -1e-10 * eig.max()
    # and the values of tests/reference_kernels.py (a trapezoid rule, 50 layers)
    for got, want in zip((k.nngp, k.ntk), kernels(text, x), strict=True):
        assert np.abs(got - want).max() <= 1e-6 * np.abs(want).max()
