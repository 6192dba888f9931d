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


def _assert_kernels(model, tolerance: float) -> None:
    for kind in INPUT_KINDS:
        k = model.kernel(inputs(kind))
        for matrix in (k.nngp, k.ntk):
            assert np.all(np.isfinite(matrix)), kind
            np.testing.assert_array_equal(matrix, matrix.T)
            assert min_eigenvalue_ratio(matrix) >= -tolerance, (kind, min_eigenvalue_ratio(matrix))


@pytest.mark.parametrize("block", BLOCKS)
def test_depth_1000_float64_is_finite_symmetric_and_psd_to_rounding(block):
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 1000, DEEP_W[block], 0.1)), dtype="float64")
    _assert_kernels(model, 1e-13)


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_w_std_10_is_finite_symmetric_and_psd_or_a_clear_error(block, dtype):
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 3, 10.0, 1.0)), dtype=dtype)
    try:
        _assert_kernels(model, 1e-6 if dtype == "float32" else 1e-13)
    except ntksym.NumericalError as exc:  # gelu at norm 1e6 in float32: x Phi(x) squared overflows
        assert dtype == "float32" and "retry with dtype float64" in str(exc)


@pytest.mark.parametrize("block", BLOCKS)
def test_depth_1000_float32_is_finite_symmetric_and_psd_to_rounding(block):
    """float32 over 1000 layers, the correlation gap carried (symbolic/gap.py): PSD to the rounding of
    1000 layers (8 eps sqrt(depth) = 3e-5; measured worst -8.2e-7). Before the gap it was -3.6e-3."""
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, 1000, DEEP_W[block], 0.1)), dtype="float32")
    _assert_kernels(model, rounding("float32", 1000))


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
