"""`conv_transpose` and `conv_local` (ntksym/layers/conv_transpose.py, conv_local.py).

neural-tangents' values for the pixel diagonal are in tests/data/nt_layers_public.json (test_reference.py);
here: every pixel pair against an independent matrix form of the layers, the bad-input errors, the derive
report, and the finite networks (Monte Carlo NNGP, empirical NTK converging with width).
"""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from conftest import spec_text
from typer.testing import CliRunner

import ntksym
from cli.main import app
from ntksym.runtime.empirical import empirical_ntk, monte_carlo_nngp
from ntksym.runtime.network import init, network

RNG = np.random.default_rng(11)
READOUT = "  - global_avg_pool\n  - dense: {w_std: 1.0, b_std: 0.0, width: 1}\n"


def _spec(layer: str, shape, tail: str = READOUT, activation: bool = False) -> ntksym.Spec:
    body = f"  - {layer}\n" + ("  - activation: relu\n" if activation else "") + tail
    return ntksym.parse_spec(spec_text(body, name="t", extra=f"input_shape: {list(shape)}\n"))


def _transpose_taps(n, k, s, padding):
    """T_d (out, in) per tap d of lax.conv_transpose written as index maps: output p = s i + low - d of the
    dilated, padded input; CIRCULAR folds the VALID output onto its n s period."""
    low_same = k - 1 if s > k - 1 else -(-(k + s - 2) // 2)
    low = low_same if padding == "SAME" else k - 1
    size = n * s if padding == "SAME" else n * s + max(k - s, 0)
    period, shift = n * s, max(k - s, 0) // 2
    taps = []
    for d in range(k):
        t = np.zeros((period if padding == "CIRCULAR" else size, n))
        for i in range(n):
            p = s * i + low - d
            if 0 <= p < size:
                t[(p - shift) % period if padding == "CIRCULAR" else p, i] += 1.0
        taps.append(t)
    return taps


def _separable(taps_per_axis):
    """2-D taps: the Kronecker products of the per-axis ones (row-major pixels)."""
    out = []
    for combo in itertools.product(*taps_per_axis):
        t = combo[0]
        for other in combo[1:]:
            t = np.kron(t, other)
        out.append(t)
    return out


def _pooled_first_layer_nngp(x, taps, w, b):
    """NNGP after a first linear layer with taps T_d, global average pooling and a unit readout."""
    n = x.shape[0]
    flat = x.reshape(n, -1, x.shape[-1])
    k_in = np.einsum("nic,mjc->nmij", flat, flat) / x.shape[-1]
    out = sum(np.einsum("pi,nmij,qj->nmpq", t, k_in, t) for t in taps) * w**2 / len(taps) + b**2
    return out.mean(axis=(2, 3))


@pytest.mark.parametrize("padding,stride", [("SAME", 2), ("VALID", 2), ("CIRCULAR", 2), ("SAME", 1),
                                            ("CIRCULAR", 3)])
def test_conv_transpose_every_pixel_pair_matches_the_matrix_form(padding, stride):
    k = 3
    x = RNG.standard_normal((3, 4, 2))
    spec = _spec(f"conv_transpose: {{filter: [{k}], stride: [{stride}], padding: {padding}, w_std: 1.3, b_std: 0.2}}",
                 x.shape[1:])
    got = ntksym.compile(spec, dtype="float64").kernel(x)
    want = _pooled_first_layer_nngp(x, _transpose_taps(4, k, stride, padding), 1.3, 0.2)
    np.testing.assert_allclose(got.nngp, want, rtol=1e-12)
    np.testing.assert_allclose(got.ntk, 2 * want, rtol=1e-12)  # first layer's NTK = its NNGP; readout adds both


def test_conv_transpose_2d_every_pixel_pair_matches_the_matrix_form():
    x = RNG.standard_normal((2, 3, 4, 2))
    spec = _spec("conv_transpose: {filter: [3, 2], stride: [2, 2], padding: CIRCULAR, w_std: 0.9, b_std: 0.1}",
                 x.shape[1:])
    got = ntksym.compile(spec, dtype="float64").kernel(x)
    taps = _separable([_transpose_taps(3, 3, 2, "CIRCULAR"), _transpose_taps(4, 2, 2, "CIRCULAR")])
    np.testing.assert_allclose(got.nngp, _pooled_first_layer_nngp(x, taps, 0.9, 0.1), rtol=1e-12)


def test_conv_local_is_the_convolution_on_the_pixel_diagonal_and_zero_between_pixels():
    # right after the layer (no activation, which would make uncorrelated pixels' features correlate),
    # global_avg_pool sees only the pixel diagonal: with a unit readout without bias its kernel is
    # flatten's mean over the diagonal divided by the pixel count
    x = RNG.standard_normal((3, 6, 2))
    layer = "conv_local: {filter: [3], stride: [2], padding: SAME, w_std: 1.2, b_std: 0.3}"
    pooled = ntksym.compile(_spec(layer, x.shape[1:]), dtype="float64").kernel(x)
    flat_tail = "  - flatten\n  - dense: {w_std: 1.0, b_std: 0.0, width: 1}\n"
    flat = ntksym.compile(_spec(layer, x.shape[1:], flat_tail), dtype="float64").kernel(x)
    conv = ntksym.compile(_spec(layer.replace("conv_local", "conv"), x.shape[1:], flat_tail),
                          dtype="float64").kernel(x)
    pixels = 3
    for got, diagonal, shared in ((pooled.nngp, flat.nngp, conv.nngp), (pooled.ntk, flat.ntk, conv.ntk)):
        np.testing.assert_allclose(got, diagonal / pixels, rtol=1e-12)
        np.testing.assert_allclose(diagonal, shared, rtol=1e-12)  # same diagonal as a shared-weight conv


@pytest.mark.parametrize("layer,error", [
    ("conv_transpose: {filter: [2], stride: [3]}", "larger than filter"),
    ("conv_transpose: {filter: [3], stride: [2, 2]}", "stride"),
    ("conv_local: {filter: [7], padding: VALID}", "larger than the 4 image"),
])
def test_impossible_shapes_exit_2_with_one_line(tmp_path, layer, error):
    path = tmp_path / "bad.yaml"
    path.write_text(spec_text(f"  - {layer}\n" + READOUT, name="bad", extra="input_shape: [4, 2]\n"))
    result = CliRunner().invoke(app, ["derive", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and error in lines[0] and "layers[0]" in lines[0]


def test_derive_reports_the_dilation_and_the_zero_pixel_pairs():
    spec = _spec("conv_transpose: {filter: [3], stride: [2], w_std: 1.3}", (4, 2),
                 "  - conv_local: {filter: [3]}\n" + READOUT)
    text = ntksym.derive(spec).text()
    assert "dilated by s = [2]" in text and "no weight sharing" in text
    latex = ntksym.derive(spec).latex()
    assert r"\tilde K" in latex


@pytest.mark.parametrize("layer,shape", [
    ("conv_transpose: {filter: [3], stride: [2], padding: CIRCULAR, w_std: 1.3, b_std: 0.1}", (4, 3)),
    ("conv_local: {filter: [3], stride: [1], padding: CIRCULAR, w_std: 1.3, b_std: 0.1}", (5, 3)),
])
def test_finite_network_converges_to_the_kernel(layer, shape):
    spec = _spec(layer, shape, activation=True)
    x = RNG.standard_normal((3,) + shape)
    exact = ntksym.compile(spec, dtype="float64").kernel(x)
    estimate = np.asarray(monte_carlo_nngp(network(spec), x, width=32, samples=400, batch=200,
                                           key=jax.random.PRNGKey(2)))
    assert np.abs(estimate - exact.nngp).max() / np.abs(exact.nngp).max() < 0.05

    def ntk_error(width):
        errors = [np.abs(np.asarray(empirical_ntk(init(jax.random.PRNGKey(seed), spec, width=width), x))
                         - exact.ntk).max() for seed in range(4)]
        return np.mean(errors) / np.abs(exact.ntk).max()

    small, large = ntk_error(16), ntk_error(512)
    assert large < 0.6 * small and large < 0.1  # 1/sqrt(width): about 5.7x at 32x the width
