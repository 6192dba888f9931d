"""`global_sum_pool` (ntksym/layers/global_sum_pool.py): P^2 times global_avg_pool's kernel."""

from __future__ import annotations

import jax
import numpy as np
from conftest import spec_text

import ntksym
from ntksym.runtime.empirical import empirical_ntk
from ntksym.runtime.network import apply, init

X = np.random.default_rng(4).standard_normal((3, 6, 2))
LAYERS = "  - conv: {filter: [3], w_std: 1.3, b_std: 0.2, channels: 8}\n  - activation: erf\n  - POOL\n" \
         "  - dense: {w_std: 1.0, width: 1}\n"


def _spec(pool: str) -> ntksym.Spec:
    return ntksym.parse_spec(spec_text(LAYERS.replace("POOL", pool), name=pool.replace("_", "-"),
                                       extra="input_shape: [6, 2]\n"))


def test_kernel_is_the_pixel_count_squared_times_the_mean():
    summed = ntksym.compile(_spec("global_sum_pool"), dtype="float64").kernel(X)
    averaged = ntksym.compile(_spec("global_avg_pool"), dtype="float64").kernel(X)
    for got, want in ((summed.nngp, averaged.nngp), (summed.ntk, averaged.ntk)):
        np.testing.assert_allclose(got, 36.0 * want, rtol=1e-13)


def test_finite_network_sums_the_pixels_and_the_fast_ntk_equals_the_jacobian():
    summed = init(jax.random.PRNGKey(0), _spec("global_sum_pool"), width=8)
    averaged = init(jax.random.PRNGKey(0), _spec("global_avg_pool"), width=8)
    np.testing.assert_allclose(np.asarray(apply(summed, X)), 6.0 * np.asarray(apply(averaged, X)), rtol=1e-10)
    fast = np.asarray(empirical_ntk(summed, X, method="fast"))
    np.testing.assert_allclose(fast, np.asarray(empirical_ntk(summed, X, method="generic")), rtol=1e-9)


def test_derive_prints_the_sum():
    text = ntksym.derive(_spec("global_sum_pool")).text()
    assert "q12' = sum_(p, p') q12(p, p') over the P pixels" in text
