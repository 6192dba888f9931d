"""The Mehler (Hermite) series of `prelude_mehler`: accuracy against the refined 2-D rule, the branch it
takes (fast series for typical variances, quadrature where its bound does not certify), identical inputs,
float32, and reverse-mode gradients through a tanh kernel."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import ntksym
from ntksym.codegen.preludes import mehler as mehler
from ntksym.codegen.preludes import quadrature as quad
from ntksym.codegen.quadrature_error import REFINED, as_function
from ntksym.symbolic.rules.numerical import QUADRATURE_ERROR, activation_functions
from ntksym.symbolic.state import x as X

FALLBACK = len(mehler._MEHLER_TERMS)
PAIR = jax.jit(mehler._expect_pair, static_argnums=(0, 1))
BRANCH = jax.jit(mehler._mehler_branch, static_argnums=(0, 1))
SAME = jax.jit(quad._expect_same, static_argnums=(0, 1))
QUAD = jax.jit(quad._expect_pair_quadrature, static_argnums=(0, 1))
_FINE = quad._quad_make_rule(*REFINED)
FINE = jax.jit(lambda f, g, a, b, c: quad._expect_pair_quadrature(f, g, a, b, c, rules=(_FINE, _FINE)),
               static_argnums=(0, 1))
# phi and phi' in one call, as the generated modules ask for them (one program instead of two)
PAIRS = jax.jit(mehler._expect_pairs, static_argnums=0)
SAMES = jax.jit(quad._expect_sames, static_argnums=0)
FINES = jax.jit(lambda pairs, a, b, c: quad._expect_pairs_quadrature(pairs, a, b, c, rules=(_FINE, _FINE)),
                static_argnums=0)
QUADS = jax.jit(quad._expect_pairs_quadrature, static_argnums=0)
BRANCHES = jax.jit(lambda pairs, a, b, c: mehler._mehler_parts(pairs, a, b, c)[4], static_argnums=0)
RHOS = np.array([-1.0, -0.6, 0.0, 0.3, 0.9, 0.99, 0.999999, 1.0])
VARIANCES = (1e-6, 1e-2, 0.3, 1.0, 3.0, 30.0)


def _functions(name):
    if name == "tanh(2x)":  # a user expression: its dual falls back to numerics like the named ones
        phi = sp.tanh(2 * X)
        return as_function(phi), as_function(sp.diff(phi, X))
    return tuple(as_function(e) for e in activation_functions(name))


# 10-25 s each on 2 cores: tanh by default; every family's pair is checked against adaptive integration in
# test_quadrature.py by default
@pytest.mark.parametrize("name", ["tanh"] + [pytest.param(n, marks=pytest.mark.slow)
                                             for n in ("sigmoid", "softplus", "silu", "tanh(2x)")])
def test_series_matches_the_refined_quadrature_over_variances_and_correlations(name):
    worst, fast = 0.0, 0
    pairs = tuple((fn, fn) for fn in _functions(name))  # phi and phi' in one call, as generated modules do
    for i, a in enumerate(VARIANCES):
        for b in VARIANCES[i:]:
            q12 = RHOS * np.sqrt(a * b)
            values = zip(PAIRS(pairs, a, q12, b), FINES(pairs, a, q12, b), SAMES(pairs, a), SAMES(pairs, b),
                         strict=True)
            for got, want, same_a, same_b in values:
                scale = np.sqrt(float(same_a) * float(same_b))
                worst = max(worst, float(np.max(np.abs(np.asarray(got) - np.asarray(want)))) / scale)
            fast += int(BRANCHES(pairs, a, q12, b)) < FALLBACK
    assert worst <= QUADRATURE_ERROR, worst  # measured: below 1e-11
    assert fast >= 6, fast  # of 21 calls: at least all with both variances <= 0.3 take the series


@pytest.mark.slow  # 7 s; the series path is taken and checked by the tanh case above
def test_typical_variances_take_the_series_with_few_terms():
    q = jnp.linspace(0.2, 1.5, 6)
    a, b = q[:, None], q[None, :]
    rho = jnp.asarray(np.random.default_rng(0).uniform(-0.5, 0.95, (6, 6)))
    q12 = rho * jnp.sqrt(a * b)
    for name in ("tanh", "sigmoid", "softplus", "silu"):
        for fn in _functions(name):
            index = int(BRANCH(fn, fn, a, q12, b))
            assert mehler._MEHLER_TERMS[index] <= 128, (name, index)


@pytest.mark.slow  # 30-40 s on 2 cores: compiles every branch
def test_identical_inputs_are_excluded_from_the_bound_and_get_the_diagonal_value():
    q = jnp.asarray([0.0, 1e-6, 0.3, 1.0, 2.0])
    a, b = q[:, None], q[None, :]
    q12 = jnp.where(jnp.eye(5, dtype=bool), a, 0.2 * jnp.sqrt(a * b))
    for name in ("tanh", "silu", "selu"):
        for fn in _functions(name):
            assert int(BRANCH(fn, fn, a, q12, b)) < FALLBACK, name  # rho = 1 would demand the full tail
            got = PAIR(fn, fn, a, q12, b)
            # the same formula; separate jit programs may sum its quadrature terms in another order (the vector
            # width decides it): measured on an AVX-512 machine, 0 units in the last place at q > 0 and 2-3 at
            # q = 0, where each sums the weights times phi(0)^2 (phi' of tanh, silu, selu)
            same = np.asarray(SAME(fn, fn, q))
            np.testing.assert_array_max_ulp(np.diagonal(np.asarray(got)), same, maxulp=4)
            np.testing.assert_array_max_ulp(np.asarray(PAIR(fn, fn, q, q, q)), same, maxulp=4)


# five programs per case (4-25 s on 2 cores): all with `make test-slow`; by default the quadrature branch is
# taken and checked at wide variances in test_quadrature.py (test_pair_matches_nested_adaptive_integration)
@pytest.mark.parametrize(("name", "q11", "rho", "q22"),
                         [pytest.param("tanh", 30.0, 0.999, 30.0, marks=pytest.mark.slow),
                          pytest.param("tanh", 1e4, 0.5, 1.0, marks=pytest.mark.slow),
                          pytest.param("elu", 1.0, 0.99, 1.0, marks=pytest.mark.slow),
                          pytest.param("selu", 2.0, 0.999, 0.5, marks=pytest.mark.slow)])
def test_where_the_bound_does_not_certify_the_quadrature_is_taken(name, q11, rho, q22):
    q12 = rho * np.sqrt(q11 * q22)
    pairs = tuple((fn, fn) for fn in _functions(name))
    assert int(BRANCHES(pairs, q11, q12, q22)) == FALLBACK
    got = PAIRS(pairs, q11, q12, q22)
    values = zip(got, QUADS(pairs, q11, q12, q22), FINES(pairs, q11, q12, q22), SAMES(pairs, q11), SAMES(pairs, q22),
                 strict=True)
    for value, quadrature, fine, same_1, same_2 in values:
        np.testing.assert_array_equal(np.asarray(value), np.asarray(quadrature))
        assert abs(float(value) - float(fine)) / np.sqrt(float(same_1) * float(same_2)) <= QUADRATURE_ERROR


@pytest.mark.slow  # 7 s a case; the series itself is checked by the tanh case of the first test
@pytest.mark.parametrize("name", ["elu", "selu"])
def test_kinked_activations_take_the_series_at_small_correlations(name):
    for fn in _functions(name):
        assert int(BRANCH(fn, fn, 1.0, 0.2, 1.0)) < FALLBACK
        err = abs(float(PAIR(fn, fn, 1.0, 0.2, 1.0)) - float(FINE(fn, fn, 1.0, 0.2, 1.0)))
        assert err <= QUADRATURE_ERROR * float(SAME(fn, fn, 1.0))


@pytest.mark.slow  # 30-40 s on 2 cores: compiles every branch
def test_float32_series_is_within_float32_accuracy_and_finite_at_zero_variance():
    q = np.asarray([0.0, 1e-6, 0.1, 0.5, 1.0])
    a, b = q[:, None], q[None, :]
    q12 = 0.6 * np.sqrt(a * b)
    for name in ("tanh", "softplus"):
        for fn in _functions(name):
            want = np.asarray(PAIR(fn, fn, a, q12, b))
            args = (jnp.asarray(v, jnp.float32) for v in (a, q12, b))
            got = PAIR(fn, fn, *args)
            assert got.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(got)))
            scale = np.sqrt(np.asarray(SAME(fn, fn, a)) * np.asarray(SAME(fn, fn, b)))
            assert np.max(np.abs(np.asarray(got, np.float64) - want) / np.maximum(scale, 1e-30)) <= 2e-6


@pytest.mark.slow  # about 40 s on 2 cores (every lax.switch branch differentiated); reverse mode through
# a generated kernel runs by default in test_codegen.py (relu)
def test_grad_through_a_tanh_kernel_matches_finite_differences():
    spec = ntksym.parse_spec("""ntksym: 1
name: grad-tanh
input_shape: [5]
hyperparameters:
  sigma_w: 1.3
  sigma_b: 0.2
layers:
  - repeat: 2
    layers:
      - dense: {w_std: sigma_w, b_std: sigma_b}
      - activation: tanh
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
""")
    model = ntksym.compile(spec, dtype="float64")
    x = jnp.asarray(np.random.default_rng(2).normal(size=(4, 5)))

    def total(w):
        nngp, ntk = model.module.kernel(x, sigma_w=w, sigma_b=0.2)
        return nngp.sum() + ntk.sum()

    grad = float(jax.grad(total)(1.3))
    eps = 1e-5
    assert grad == pytest.approx(float(total(1.3 + eps) - total(1.3 - eps)) / (2 * eps), rel=1e-7)

