"""Kernels at depth 1000, with zero, identical, tiny (norm 1e-6) and huge (norm 1e6) inputs and w_std up to
10: finite, exactly symmetric and PSD to rounding; where the mathematics diverges, a NumericalError with a
remedy. The measured figures are in docs/troubleshooting.md (tools/numerical_extremes.py)."""

from __future__ import annotations

import numpy as np
import pytest
from extremes import BLOCKS, INPUT_KINDS, inputs, min_eigenvalue_ratio, rounding, spec_text

import ntksym

DEEP_W = {"relu": 2**0.5, "abs": 1.0, "leaky_relu": 1.4, "step": 1.5, "erf": 1.0, "gelu": 1.4, "sin": 1.0,
          "cos": 1.0, "identity": 1.0, "layer_norm": 2.0, "residual": 2**0.5}


# E[phi(u)^2] = c q and E[phi'(u)^2] = c': on the diagonal these blocks' recursions are linear maps
_GAINS = {"relu": 0.5, "abs": 1.0, "leaky_relu": (1 + 0.01**2) / 2, "identity": 1.0}


def diagonal(block: str, depth: int, w: float, b: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact NNGP and NTK diagonals of extremes.spec_text(block, depth, w, b) (float64 loop)."""
    q = np.sum(x * x, axis=1) / x.shape[1] + b * b  # the first dense layer (w_std 1)
    t = q.copy()
    gain = _GAINS.get(block, 0.5)  # layer_norm and residual blocks use relu
    for _ in range(depth):
        if block == "residual":
            s2 = depth**-1.0
            qb, tb = gain * q, gain * t
            qb = w * w * qb + b * b
            tb = qb + w * w * tb
            q, t = q + s2 * qb, t + s2 * tb
            continue
        q = w * w * q + b * b
        t = q + w * w * t
        if block == "layer_norm":
            q, t = np.ones_like(q), t / q
        q, t = gain * q, gain * t
    return q, q + t  # the readout: dense(w_std 1, b_std 0)


def _assert_kernels(model, tolerance: float, exact=None) -> None:
    """Finite, exactly symmetric, PSD to `tolerance`; with exact = (block, depth, w, b, rtol), the diagonals
    equal the closed form."""
    for kind in INPUT_KINDS:
        x = inputs(kind)
        k = model.kernel(x)
        for matrix in (k.nngp, k.ntk):
            assert np.all(np.isfinite(matrix)), kind
            np.testing.assert_array_equal(matrix, matrix.T)
            assert min_eigenvalue_ratio(matrix) >= -tolerance, (kind, min_eigenvalue_ratio(matrix))
        if exact is not None:
            *args, rtol = exact
            for got, want in zip((k.nngp, k.ntk), diagonal(*args, x), strict=True):
                np.testing.assert_allclose(np.diagonal(got), want, rtol=rtol, err_msg=kind)


def _param(*values, fast: bool):
    return pytest.param(*values, marks=() if fast else (pytest.mark.slow,))


# 51 compiles in all, about 5 s each on 2 cores: a representative subset runs by default (every block kind
# at depth 1000 in float64 or float32, the overflow remedy of float32, a divergent case per dtype),
# `make test-slow` the rest.
FAST_DEEP_64, FAST_DEEP_32 = {"relu", "residual"}, {"layer_norm"}
FAST_W10 = {("gelu", "float32"), ("relu", "float64")}
LINEAR = set(_GAINS) | {"layer_norm", "residual"}  # blocks whose diagonals are checked exactly


@pytest.mark.parametrize("block", [_param(b, fast=b in FAST_DEEP_64) for b in BLOCKS])
def test_depth_1000_float64_is_finite_symmetric_and_psd_to_rounding(block):
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 1000, DEEP_W[block], 0.1)), dtype="float64")
    linear = block in LINEAR
    _assert_kernels(model, 1e-13, (block, 1000, DEEP_W[block], 0.1, 1e-11) if linear else None)


@pytest.mark.parametrize(("dtype", "block"), [_param(d, b, fast=(b, d) in FAST_W10)
                                              for b in BLOCKS for d in ("float32", "float64")])
def test_w_std_10_is_finite_symmetric_and_psd_or_a_clear_error(block, dtype):
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 3, 10.0, 1.0)), dtype=dtype)
    linear = block in LINEAR
    exact = (block, 3, 10.0, 1.0, 1e-5 if dtype == "float32" else 1e-12) if linear else None
    try:
        _assert_kernels(model, 1e-6 if dtype == "float32" else 1e-13, exact)
    except ntksym.NumericalError as exc:  # gelu at norm 1e6 in float32: x Phi(x) squared overflows
        assert dtype == "float32" and "retry with dtype float64" in str(exc)


@pytest.mark.parametrize("block", [_param(b, fast=b in FAST_DEEP_32) for b in BLOCKS])
def test_depth_1000_float32_is_finite_symmetric_and_psd_to_rounding(block):
    """float32 over 1000 layers, the correlation gap carried (symbolic/gap.py): PSD to the rounding of
    1000 layers (8 eps sqrt(depth) = 3e-5; measured worst -8.2e-7). Before the gap it was -3.6e-3."""
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 1000, DEEP_W[block], 0.1)), dtype="float32")
    linear = block in LINEAR
    _assert_kernels(model, rounding("float32", 1000), (block, 1000, DEEP_W[block], 0.1, 1e-4) if linear else None)


def test_layer_norm_of_a_zero_input_is_zero_not_nan():
    model = ntksym.compile(ntksym.parse_spec(spec_text("layer_norm", 2, 1.0, 0.0)), dtype="float64")
    x = inputs("zeros")
    k = model.kernel(x)
    assert np.all(np.isfinite(k.ntk)) and np.all(np.isfinite(k.nngp))
    # the readout is dense(1.0) after relu(layer_norm(0)) = 0: nothing but the zero vector for both rows
    assert np.all(k.nngp[:2] == 0) and np.all(k.nngp[:, :2] == 0)


DIVERGENT = {
    "relu, w_std 10, depth 1000": spec_text("relu", 1000, 10.0, 0.0),
    "exp at large variance": "ntksym: 1\nname: e\nlayers:\n  - repeat: 5\n"
                             "    layers: [{dense: {w_std: 3.0}}, {activation: exp}]\n  - dense: {}\n",
    "gaussian with b > 0 at large variance": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: 3.0}\n"
                                             "  - activation: {name: gaussian, a: 1.0, b: 0.5}\n  - dense: {}\n",
}


@pytest.mark.parametrize("case", DIVERGENT)
@pytest.mark.parametrize(("dtype", "advice"), [("float32", "retry with dtype float64"),
                                               ("float64", "the kernel itself diverges here")])
def test_divergent_mathematics_is_a_numerical_error_with_advice(case, dtype, advice):
    model = ntksym.compile(ntksym.parse_spec(DIVERGENT[case]), dtype=dtype)
    with pytest.raises(ntksym.NumericalError, match=advice):
        model.kernel(inputs("random"))
