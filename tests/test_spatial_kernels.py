"""Kernels of networks with convolutions and pooling: code paths the neural-tangents data do not pin down
(repeat as a loop vs unrolled, the diagonal shortcut vs every pixel pair), and kernel invariants."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import spec_text
from reference_kernels import kernels

import ntksym

RNG = np.random.default_rng(7)
X1D = RNG.standard_normal((3, 6, 2))
Y1D = RNG.standard_normal((2, 6, 2))
CONV = "  - conv: {filter: [3], w_std: 1.3, b_std: 0.1}\n  - activation: relu\n"


def _kernels(layers: str, x=X1D, y=Y1D, shape="[6, 2]", dtype="float64", **hp):
    extra = f"input_shape: {shape}\n"
    if hp:
        extra += "hyperparameters:\n" + "".join(f"  {k}: {v}\n" for k, v in hp.items())
    model = ntksym.compile(ntksym.parse_spec(spec_text(layers, extra=extra)), dtype=dtype)
    return model, model.kernel(x, y)  # one kernel per test: each call signature compiles once


def _close(a, b, tol=1e-12):
    for got, want in zip((a.nngp, a.ntk), (b.nngp, b.ntk), strict=True):
        assert np.abs(got - want).max() <= tol * np.abs(want).max()


def test_repeat_loop_equals_the_unrolled_layers():
    readout = "  - global_avg_pool\n  - dense: {w_std: 1.0}\n"
    looped = "  - repeat: 3\n    layers:\n" + CONV.replace("  - ", "      - ") + readout
    model, k12 = _kernels(looped)
    _, u12 = _kernels(CONV * 3 + readout)
    _close(k12, u12)
    assert "lax.fori_loop" in model.source_path.read_text()


def test_shape_changing_repeat_is_unrolled_and_equals_the_written_out_layers():
    strided = CONV.replace("filter: [3]", "filter: [3], stride: [2]")
    readout = "  - flatten\n  - dense: {w_std: 1.0}\n"
    looped = "  - repeat: 2\n    layers:\n" + strided.replace("  - ", "      - ") + readout
    model, k11 = _kernels(looped, y=None)
    _, u11 = _kernels(strided * 2 + readout, y=None)
    _close(k11, u11)
    source = model.source_path.read_text()
    assert "for _i in range(2):" in source and "fori_loop" not in source


def test_flatten_on_the_pixel_diagonal_equals_flatten_of_every_pixel_pair():
    """Diagonal mode (flatten only) against full mode (an avg_pool of window 1 changes only the mode)."""
    body = CONV + CONV.replace("SAME", "CIRCULAR").replace("filter: [3]", "filter: [2], padding: CIRCULAR")
    readout = "  - flatten\n  - dense: {w_std: 1.0}\n"
    diagonal, d12 = _kernels(body + readout)
    full, f12 = _kernels(body + "  - avg_pool: {window: [1]}\n" + readout)
    assert diagonal.module.SPATIAL_MODE == "diagonal" and full.module.SPATIAL_MODE == "full"
    _close(d12, f12)


def test_cnn_kernel_on_images_is_symmetric_psd_and_that_of_an_independent_recursion():
    x = RNG.standard_normal((5, 4, 4, 2))
    layers = (
        "  - conv: {filter: [3, 3], w_std: 1.4, b_std: 0.1}\n  - activation: erf\n"
        "  - avg_pool: {window: [2, 2], stride: [1, 1]}\n  - global_avg_pool\n  - dense: {w_std: 1.0}\n"
    )
    _, k = _kernels(layers, x=x, y=None, shape="[4, 4, 2]")
    want = kernels({"layers": yaml.safe_load(layers)}, x)  # tests/reference_kernels.py, every pixel pair
    for matrix, reference in zip((k.nngp, k.ntk), want, strict=True):
        assert np.abs(matrix - matrix.T).max() <= 1e-15 * np.abs(matrix).max()
        assert np.linalg.eigvalsh(matrix).min() >= -1e-12 * np.abs(matrix).max()
        assert np.abs(matrix - reference).max() <= 1e-9 * np.abs(reference).max()


def test_float32_agrees_with_float64():
    layers = CONV * 2 + "  - global_avg_pool\n  - dense: {w_std: 1.0}\n"
    _, k64 = _kernels(layers)
    _, k32 = _kernels(layers, dtype="float32")
    assert k32.nngp.dtype == np.float32
    _close(k32, k64, tol=1e-5)


def test_conv_hyperparameters_are_traced_arguments():
    layers = (
        "  - conv: {filter: [3], w_std: sw, b_std: sb}\n  - activation: relu\n"
        "  - global_avg_pool\n  - dense: {w_std: 1.0}\n"
    )
    model, _ = _kernels(layers, sw=1.0, sb=0.0)
    _, literal = _kernels(layers.replace("sw", "1.7").replace("sb", "0.3"))
    _close(model.kernel(X1D, Y1D, sw=1.7, sb=0.3), literal)


@pytest.mark.parametrize("padding, width", [("SAME", 5), ("VALID", 4), ("CIRCULAR", 5)])
def test_strided_conv_output_size_follows_the_padding(padding, width):
    from ntksym.symbolic.spatial_plan import output_dims

    assert output_dims((9,), (3,), (2,), padding) == (width,)
