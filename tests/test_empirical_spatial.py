"""The finite CNN (conv, avg_pool, global_avg_pool, flatten) against the analytic kernels of the same spec.

Monte Carlo NNGPs over many vmapped inits and empirical NTKs at many channels converging to the analytic
kernels is what proves that the finite network's conventions (padding offsets, strides, scales, the flatten
fan-in P * C) are the analytic side's (Novak et al. 2019; neural-tangents' layer conventions).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import ntksym
from ntksym.codegen.emit import emit_module
from ntksym.codegen.load import import_module_file
from ntksym.codegen.preludes import network as P
from ntksym.runtime.check import relative_error, with_width
from ntksym.runtime.empirical import empirical_ntk, has_fast_path, monte_carlo_nngp
from ntksym.runtime.network import apply, init, network

HEAD = "ntksym: 1\nname: {name}\nparameterization: {param}\ninput_shape: {shape}\nlayers:\n"
SPECS = {
    # 1-D conv, SAME, stride 1, then global average pooling and a dense readout
    "conv1d_same_gap": ("ntk", [6, 2], """\
  - conv: {filter: [3], channels: 8, w_std: 1.4, b_std: 0.1}
  - activation: relu
  - global_avg_pool
  - dense: {width: 1, w_std: 1.0, b_std: 0.1}
"""),
    # 2-D conv, VALID, uneven filter and stride, flatten (dense fan_in = P * C), dense readout
    "conv2d_valid_flatten": ("ntk", [4, 5, 2], """\
  - conv: {filter: [2, 3], stride: [1, 2], padding: VALID, channels: 8, w_std: 1.3, b_std: 0.2}
  - activation: relu
  - flatten
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""),
    # CIRCULAR conv with an even filter and stride 2 on an odd length, SAME avg_pool, global pooling
    "circular_avg_pool": ("ntk", [7, 2], """\
  - conv: {filter: [4], stride: [2], padding: CIRCULAR, channels: 8, w_std: 1.2, b_std: 0.1}
  - activation: erf
  - avg_pool: {window: [2], padding: SAME}
  - global_avg_pool
  - dense: {width: 1, w_std: 1.0}
"""),
    # standard parameterization, 2-D SAME conv with stride 2, flatten
    "standard_conv2d": ("standard", [5, 5, 1], """\
  - conv: {filter: [2, 2], stride: [2, 2], channels: 8, w_std: 1.4, b_std: 0.1}
  - activation: relu
  - flatten
  - dense: {width: 1, w_std: 1.0, b_std: 0.1}
"""),
}
# a per-pixel dense layer and layer_norm on a spatial state (NTK check only: with two hidden layers the
# Monte Carlo NNGP at small channels has a finite-width bias)
PER_PIXEL = ("standard", [5, 4, 2], """\
  - conv: {filter: [2, 2], channels: 8, w_std: 1.4, b_std: 0.1}
  - activation: relu
  - dense: {width: 8, w_std: 1.1, b_std: 0.1}
  - layer_norm
  - activation: relu
  - global_avg_pool
  - dense: {width: 1, w_std: 1.0, b_std: 0.1}
""")


def make_spec(name: str, entry=None) -> ntksym.Spec:
    param, shape, layers = SPECS[name] if entry is None else entry
    return ntksym.parse_spec(HEAD.format(name=name, param=param, shape=shape) + layers)


def inputs(spec: ntksym.Spec, n: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *spec.input_shape))


def analytic(spec: ntksym.Spec, x, channels: int | None = None):
    if spec.parameterization == "standard" and channels is not None:
        spec = with_width(spec, channels)  # its NTK depends on the fan-ins
    return ntksym.compile(spec, dtype="float64").kernel(x)


def _monte_carlo_errors(name: str, chunks: int) -> tuple[float, float]:
    """Mean error of `chunks` independent 100-sample estimates, and the error of their mean."""
    spec = make_spec(name)
    x = inputs(spec)
    exact = analytic(spec, x).nngp
    net = network(spec)
    estimates = [
        np.asarray(monte_carlo_nngp(net, x, width=8, samples=100, batch=100, key=jax.random.PRNGKey(i)))
        for i in range(chunks)
    ]
    return np.mean([relative_error(e, exact) for e in estimates]), relative_error(np.mean(estimates, axis=0), exact)


# one hidden layer and an exact readout expectation: unbiased at any channel count. Each spec compiles its
# own network (10-20 s on 2 cores): two specs with 500 samples by default (VALID, strides, flatten;
# CIRCULAR, avg_pool, global pooling), all four with 2000 under `make test-slow`.
@pytest.mark.parametrize("name", ["conv2d_valid_flatten", "circular_avg_pool"])
def test_monte_carlo_nngp_of_the_finite_cnn_approaches_the_analytic_nngp(name):
    error_100, error_500 = _monte_carlo_errors(name, 5)
    assert error_500 < 0.1
    assert error_500 < error_100 / 1.5  # Monte Carlo: sqrt(5) ~ 2.2x smaller


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPECS))
def test_monte_carlo_nngp_of_the_finite_cnn_converges_to_the_analytic_nngp(name):
    # 20 independent 100-sample estimates; their mean is the 2000-sample estimate
    error_100, error_2000 = _monte_carlo_errors(name, 20)
    assert error_2000 < 0.05
    assert error_2000 < error_100 / 2  # Monte Carlo: sqrt(20) ~ 4.5x smaller


# 25-80 s each on 2 cores: conv1d_same_gap by default, the others with `make test-slow`
@pytest.mark.parametrize("entry", [SPECS["conv1d_same_gap"],
                                   pytest.param(SPECS["circular_avg_pool"], marks=pytest.mark.slow),
                                   pytest.param(PER_PIXEL, marks=pytest.mark.slow)],
                         ids=["conv1d_same_gap", "circular_avg_pool", "standard_per_pixel_dense"])
def test_empirical_ntk_of_the_finite_cnn_approaches_the_analytic_ntk_as_channels_grow(entry):
    spec = make_spec("ntk_check", entry)
    x = inputs(spec, seed=1)
    errors = []
    for channels in (128, 512):
        exact = analytic(spec, x, channels).ntk
        errors.append(np.mean([
            relative_error(empirical_ntk(init(jax.random.PRNGKey(seed), spec, width=channels), x), exact)
            for seed in range(4)
        ]))
    assert errors[1] < 0.1
    assert errors[1] < errors[0]


# The layer-factorised (structured) NTK of conv nets against the full Jacobian: every layer kind and
# padding, strides, both parameterizations, convs with and without biases, repeats (stacked weights) and
# residual blocks, several output units.
STRUCTURED = {
    # standard parameterization, a bias-free VALID stride-2 conv, then a SAME conv, flatten
    "standard_valid_stride2_flatten": ("standard", [7, 6, 2], """\
  - conv: {filter: [3, 3], stride: [2, 2], padding: VALID, channels: 5, w_std: 1.4, b_std: null}
  - activation: relu
  - conv: {filter: [2, 2], channels: 5, w_std: 1.3, b_std: 0.2}
  - activation: relu
  - flatten
  - dense: {width: 2, w_std: 1.0, b_std: 0.1}
"""),
    # ntk parameterization, CIRCULAR stride-2 conv without bias, SAME conv, global_avg_pool, no readout bias
    "circular_stride2_global_avg_pool": ("ntk", [6, 5, 1], """\
  - conv: {filter: [3, 2], stride: [2, 1], padding: CIRCULAR, channels: 5, w_std: 1.4, b_std: null}
  - activation: erf
  - conv: {filter: [3, 3], channels: 5, w_std: 1.3, b_std: 0.1}
  - activation: relu
  - global_avg_pool
  - dense: {width: 3, w_std: 1.0, b_std: null}
"""),
    # 1-D convs with VALID and SAME avg_pool between them
    "conv1d_avg_pool": ("ntk", [11, 3], """\
  - conv: {filter: [3], channels: 5, w_std: 1.4, b_std: 0.1}
  - activation: relu
  - avg_pool: {window: [3], stride: [2], padding: VALID}
  - conv: {filter: [2], stride: [2], padding: SAME, channels: 5, w_std: 1.4, b_std: 0.1}
  - activation: relu
  - avg_pool: {window: [2], padding: SAME}
  - global_avg_pool
  - dense: {width: 2, w_std: 1.0, b_std: 0.1}
"""),
    # residual conv blocks in a repeat, with layer_norm and a per-pixel dense layer in the branch
    "residual_conv_repeat": ("ntk", [4, 4, 2], """\
  - conv: {filter: [3, 3], channels: 4, w_std: 1.4, b_std: 0.1}
  - repeat: 3
    layers:
      - residual:
          scale: 0.5
          layers:
            - activation: relu
            - conv: {filter: [3, 3], channels: 4, w_std: 1.4, b_std: 0.1}
            - layer_norm
            - activation: relu
            - dense: {width: 4, w_std: 1.2, b_std: 0.1}
  - activation: relu
  - global_avg_pool
  - dense: {width: 2, w_std: 1.0, b_std: 0.1}
"""),
}


# 20-65 s each on 2 cores: two by default (standard parameterization, VALID stride 2, no bias, flatten;
# 1-D avg_pool VALID / SAME), the residual-repeat and CIRCULAR ones with `make test-slow`
SLOW_STRUCTURED = {"residual_conv_repeat", "circular_stride2_global_avg_pool", "conv1d_avg_pool"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=(pytest.mark.slow,) if n in SLOW_STRUCTURED else ())
                                  for n in sorted(STRUCTURED)])
def test_the_structured_ntk_of_conv_nets_equals_the_jacobian_contraction(name):
    spec = make_spec(name, STRUCTURED[name])
    params = init(jax.random.PRNGKey(3), spec, width=4)
    x1, x2 = inputs(spec, 4, seed=2), inputs(spec, 3, seed=3)
    assert has_fast_path(params.network)
    generic = np.asarray(empirical_ntk(params, np.concatenate([x1, x2]), method="generic"))  # one compile
    same = np.asarray(empirical_ntk(params, x1, method="fast"))
    cross = np.asarray(empirical_ntk(params, x1, x2, method="fast"))
    assert same.shape == (4, 4) and cross.shape == (4, 3)
    assert relative_error(same, generic[:4, :4]) < 1e-10
    assert relative_error(cross, generic[:4, 4:]) < 1e-10
    np.testing.assert_array_equal(np.asarray(empirical_ntk(params, x1, x2)), cross)  # auto is fast


def test_both_contraction_orders_of_a_layer_give_the_same_kernel():
    # pixel pairs n n' P^2 (k C + F) or per-example weight gradients: the cost model picks one per layer
    rng = np.random.default_rng(0)
    p1, p2 = rng.normal(size=(4, 6, 5)), rng.normal(size=(3, 6, 5))
    g1, g2 = rng.normal(size=(2, 4, 6, 7)), rng.normal(size=(2, 3, 6, 7))
    pairs = P._net_ntk_by_pixel_pairs(p1, g1, p2, g2, 0.3, 0.2)
    gradients = P._net_ntk_by_weight_gradients(p1, g1, p2, g2, 0.3, 0.2)
    assert pairs.shape == (4, 3)
    assert relative_error(np.asarray(pairs), np.asarray(gradients)) < 1e-12


def test_conv_specs_take_the_fast_path_by_default():
    spec = make_spec("conv2d_valid_flatten")
    params, x = init(jax.random.PRNGKey(0), spec, width=4), inputs(spec, 3)
    assert has_fast_path(params.network)
    np.testing.assert_allclose(
        empirical_ntk(params, x), empirical_ntk(params, x, method="generic"), rtol=1e-10
    )


def test_generated_module_of_a_conv_spec_builds_the_same_network(tmp_path):
    spec = make_spec("circular_avg_pool")
    path = tmp_path / "cnn_module.py"
    path.write_text(emit_module(ntksym.derive(spec), "float64"))
    module = import_module_file(path, "generated_cnn_for_test")
    key, x1, x2 = jax.random.PRNGKey(5), inputs(spec, 3), inputs(spec, 2, seed=1)
    params = module.init(key, 6)
    reference = init(key, spec, width=6)
    np.testing.assert_allclose(module.apply(params, x1), apply(reference, x1), rtol=1e-12)
    np.testing.assert_allclose(
        module.empirical_ntk(params, x1, x2), empirical_ntk(reference, x1, x2), rtol=1e-10
    )
    assert module.empirical_ntk(params, x1).shape == (3, 3)


def test_bad_spatial_input_shapes_are_refused_with_a_clear_message():
    spec = make_spec("conv2d_valid_flatten")
    with pytest.raises(ntksym.InputError, match="does not match the spec's input_shape"):
        init(jax.random.PRNGKey(0), spec, input_dim=7)
    wrong_rank = ntksym.parse_spec(HEAD.format(name="r", param="ntk", shape=[6, 2]) + SPECS["standard_conv2d"][2])
    with pytest.raises((ntksym.InputError, ntksym.DerivationError)):
        init(jax.random.PRNGKey(0), wrong_rank)


@pytest.mark.slow  # a check() run on a CNN, about 45 s on 2 cores; test_check.py covers check() by default
def test_check_sweeps_conv_channels_in_the_standard_parameterization():
    # widths are the conv channels; the standard parameterization's analytic NTK follows them (with_width)
    report = ntksym.check(make_spec("standard_conv2d"), widths=(16, 256), seeds=2, n=4, train_steps=2, train_seeds=1,
                          samples=8, dtype="float64")
    assert report.ntk_rel_error.shape == (2, 2) and np.all(np.isfinite(report.prediction_gap[:, 0]))
    assert report.ntk_rel_error[1].mean() < 0.1
    assert report.ntk_rel_error[1].mean() < report.ntk_rel_error[0].mean()


@pytest.mark.parametrize(("dims", "window", "stride", "padding"), [
    ((7,), (4,), (2,), "CIRCULAR"), ((5, 6), (3, 2), (2, 1), "SAME"), ((5, 6), (2, 3), (1, 2), "VALID"),
    ((4, 3, 5), (3, 3, 2), (1, 2, 2), "SAME"),
])
def test_the_finite_conv_is_the_sum_over_filter_taps_of_the_shifted_inputs(dims, window, stride, padding):
    """`_net_conv` (one XLA convolution) equals sum_d h(s p + d) W[d] written out tap by tap (`_net_taps`,
    which the layer's patches use too), for 1-, 2- and 3-D inputs, uneven strides and every padding."""
    rng = np.random.default_rng(0)
    h = rng.normal(size=(3, *dims, 2))
    w = rng.normal(size=(*window, 2, 4))
    by_taps = sum(np.asarray(tap) @ w[d] for d, tap in P._net_taps(h, window, stride, padding))
    np.testing.assert_allclose(np.asarray(P._net_conv(h, w, window, stride, padding)), by_taps, rtol=1e-12,
                               atol=1e-12)
