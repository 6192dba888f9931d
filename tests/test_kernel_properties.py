"""Kernel invariants as property tests: finite, symmetric, positive semi-definite, also at the extremes."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from reference_kernels import kernels

import ntksym

ACTIVATIONS = ["relu", "erf", "abs", "gelu", "leaky_relu", "sin", "identity"]
INDEPENDENT = {"relu", "erf", "abs", "leaky_relu", "identity"}  # the activations tests/reference_kernels.py knows


def _spec_text(activation: str, depth: int, w: float = 1.2, b: float = 0.1) -> str:
    return f"""
ntksym: 1
name: prop-{activation}
input_shape: [3]
hyperparameters: {{w: {w}, b: {b}}}
layers:
  - repeat: {depth}
    layers: [{{dense: {{w_std: w, b_std: b}}}}, {{activation: {activation}}}]
  - dense: {{w_std: 1.0}}
"""


def _spec(activation: str, depth: int, w: float = 1.2, b: float = 0.1) -> ntksym.Spec:
    return ntksym.parse_spec(_spec_text(activation, depth, w, b))


def assert_psd_kernel(k: np.ndarray, rtol: float) -> None:
    assert np.all(np.isfinite(k))
    np.testing.assert_array_equal(k, k.T)
    eigenvalues = np.linalg.eigvalsh(k.astype(np.float64))
    assert eigenvalues.min() >= -rtol * max(abs(eigenvalues).max(), 1e-300)


_inputs = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(3)),
                 elements=st.floats(-10, 10, allow_nan=False, width=64))


def _check_kernels(x, activation, depth, w, b, duplicate):
    if duplicate:
        x = np.concatenate([x, x[:1], np.zeros((1, 3))])  # identical rows and a zero input
    k = ntksym.compile(_spec(activation, depth), dtype="float64").kernel(x, w=w, b=b)
    for matrix in (k.nngp, k.ntk):
        assert_psd_kernel(matrix, 1e-9)
    if activation in INDEPENDENT:  # and the values of tests/reference_kernels.py
        doc = yaml.safe_load(_spec_text(activation, depth))
        doc["hyperparameters"] = {"w": w, "b": b}
        # 1e-6: nearly parallel inputs (hypothesis likes them) put the angle at sqrt(eps) in either code
        for got, want in zip((k.nngp, k.ntk), kernels(doc, x), strict=True):
            assert np.abs(got - want).max() <= 1e-6 * np.abs(want).max()


_DRAWS = dict(x=_inputs, activation=st.sampled_from(ACTIVATIONS), depth=st.integers(1, 6),
              w=st.floats(0.1, 3.0), b=st.floats(0.0, 1.0), duplicate=st.booleans())


# each draw compiles a module (about a second on 2 cores): 5 by default, 40 with `make test-slow`
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**_DRAWS)
def test_kernels_are_symmetric_psd_finite_and_those_of_an_independent_recursion(x, activation, depth, w, b,
                                                                                duplicate):
    _check_kernels(x, activation, depth, w, b, duplicate)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**_DRAWS)
def test_many_kernels_are_symmetric_psd_finite_and_those_of_an_independent_recursion(x, activation, depth, w, b,
                                                                                     duplicate):
    _check_kernels(x, activation, depth, w, b, duplicate)


# six compiles of 1000-layer kernels; test_numerical_extremes.py runs relu (float64) by default, erf in
# float32 runs here, the rest with `make test-slow`
@pytest.mark.parametrize(("activation", "dtype"), [
    pytest.param(a, d, marks=() if (a, d) == ("erf", "float32") else (pytest.mark.slow,))
    for a in ("relu", "erf", "abs") for d in ("float32", "float64")])
def test_depth_1000_with_zero_identical_and_extreme_inputs(activation, dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(3, 3)), np.zeros((1, 3)), rng.normal(size=(1, 3)).repeat(2, 0),
                        1e-6 * rng.normal(size=(1, 3)), 1e3 * rng.normal(size=(1, 3))])
    model = ntksym.compile(_spec(activation, 1000, w=1.0, b=0.1), dtype=dtype)
    k = model.kernel(x)
    for matrix in (k.nngp, k.ntk):
        assert_psd_kernel(matrix, 1e-5 if dtype == "float32" else 1e-10)


def test_cross_kernel_agrees_with_the_symmetric_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3))
    model = ntksym.compile(_spec("erf", 4), dtype="float64")
    same, cross = model.kernel(x), model.kernel(x, x)
    np.testing.assert_allclose(same.ntk, cross.ntk, rtol=1e-12)
    np.testing.assert_allclose(same.nngp, cross.nngp, rtol=1e-12)
