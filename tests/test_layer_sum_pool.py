"""`sum_pool` (ntksym/layers/sum_pool.py): |w|^2 times avg_pool's kernel, and a finite network that sums."""

from __future__ import annotations

import jax
import numpy as np
from conftest import spec_text

import ntksym
from ntksym.runtime.empirical import empirical_ntk, monte_carlo_nngp
from ntksym.runtime.network import apply, init, network

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 5, 5, 2))
CONV = "  - conv: {filter: [3, 3], w_std: 1.2, b_std: 0.1, channels: 8}\n  - activation: relu\n"
READOUT = "  - flatten\n  - dense: {w_std: 1.0, width: 1}\n"


def _spec(pool: str) -> ntksym.Spec:
    text = spec_text(CONV + f"  - {pool}: {{window: [2, 2], stride: [1, 1], padding: SAME}}\n" + READOUT,
                     name=pool.replace("_", "-"), extra="input_shape: [5, 5, 2]\n")
    return ntksym.parse_spec(text)


def test_kernel_is_the_window_size_squared_times_avg_pool():
    summed = ntksym.compile(_spec("sum_pool"), dtype="float64").kernel(X)
    averaged = ntksym.compile(_spec("avg_pool"), dtype="float64").kernel(X)
    for got, want in ((summed.nngp, averaged.nngp), (summed.ntk, averaged.ntk)):
        np.testing.assert_allclose(got, 16.0 * want, rtol=1e-13)


def test_finite_network_sums_the_window():
    summed, averaged = _spec("sum_pool"), _spec("avg_pool")
    # the same weights (same key, same shapes) through both networks; the readout has no bias (b_std 0),
    # so the output is linear in the pooled features: 4 times avg_pool's window means
    out_sum = np.asarray(apply(init(jax.random.PRNGKey(0), summed, width=8), X))
    out_avg = np.asarray(apply(init(jax.random.PRNGKey(0), averaged, width=8), X))
    np.testing.assert_allclose(out_sum, 4.0 * out_avg, rtol=1e-10)


def test_empirical_ntk_fast_path_equals_the_jacobian_and_monte_carlo_matches_the_kernel():
    spec = _spec("sum_pool")
    params = init(jax.random.PRNGKey(1), spec, width=8)
    fast = np.asarray(empirical_ntk(params, X, method="fast"))
    generic = np.asarray(empirical_ntk(params, X, method="generic"))
    np.testing.assert_allclose(fast, generic, rtol=1e-9)
    exact = ntksym.compile(spec, dtype="float64").kernel(X).nngp
    estimate = np.asarray(monte_carlo_nngp(network(spec), X, width=8, samples=1000, batch=500,
                                           key=jax.random.PRNGKey(2)))
    assert np.abs(estimate - exact).max() / np.abs(exact).max() < 0.06
