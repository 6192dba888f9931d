"""The finite network built from a spec, its empirical NTK (fast vs generic) and the Monte Carlo NNGP."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import spec_text

import ntksym
from ntksym.codegen.emit import emit_module
from ntksym.codegen.load import import_module_file
from ntksym.runtime.empirical import empirical_ntk, monte_carlo_nngp
from ntksym.runtime.network import apply, init, network

MIXED = """\
  - dense: {w_std: sw, b_std: 0.1}
  - activation: gelu
  - repeat: 2
    layers:
      - dense: {w_std: 1.3, b_std: null}
      - activation: erf
  - residual:
      scale: 0.5
      layers:
        - dense: {w_std: 1.2}
        - activation: {name: leaky_relu, alpha: 0.2}
  - layer_norm
  - dense: {w_std: 1.0, b_std: 0.3, width: 3}
"""


def mixed_spec(parameterization: str = "ntk") -> ntksym.Spec:
    extra = f"parameterization: {parameterization}\ninput_shape: [6]\nhyperparameters: {{sw: 1.5}}\n"
    if parameterization == "standard":  # its analytic NTK needs every hidden width
        return ntksym.parse_spec(
            spec_text(
                MIXED.replace("b_std: null}", "b_std: null, width: 24}")
                .replace("w_std: 1.2}", "w_std: 1.2, width: 24}")
                .replace("b_std: 0.1}", "b_std: 0.1, width: 24}"),
                extra=extra,
            )
        )
    return ntksym.parse_spec(spec_text(MIXED, extra=extra))


def inputs(n: int, d: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


# 40-65 s each on 2 cores: ntk by default; the standard parameterization's fast path is checked on a CNN in
# test_empirical_spatial.py (standard_valid_stride2_flatten)
@pytest.mark.parametrize("parameterization", ["ntk", pytest.param("standard", marks=pytest.mark.slow)])
def test_fast_ntk_equals_generic_jacobian_contraction_in_float64(parameterization):
    params = init(
        jax.random.PRNGKey(0), mixed_spec(parameterization), width=24 if parameterization == "ntk" else None
    )
    x1, x2 = inputs(5), inputs(3, seed=1)
    for a, b, batch in [(x1, None, None), (x1, x2, 3)]:
        fast = np.asarray(empirical_ntk(params, a, b, method="fast"))
        generic = np.asarray(empirical_ntk(params, a, b, method="generic", batch_size=batch))
        assert fast.dtype == np.float64
        np.testing.assert_allclose(fast, generic, rtol=1e-6, atol=1e-6 * np.abs(generic).max())


def test_parameterizations_follow_the_spec_conventions():
    spec = ntksym.parse_spec(
        spec_text(
            "  - dense: {w_std: 2.0, b_std: 0.5, width: 4}\n",
            extra="parameterization: standard\ninput_shape: [100]\n",
        )
    )
    params = init(jax.random.PRNGKey(1), spec)
    w, b = params.layers[0]["w"], params.layers[0]["b"]
    assert w.shape == (100, 4) and b.shape == (4,)
    assert abs(float(jnp.std(w)) - 2.0 / 10.0) < 0.03  # W ~ N(0, w^2 / fan_in)
    ntk_params = init(
        jax.random.PRNGKey(1),
        ntksym.parse_spec(spec_text("  - dense: {w_std: 2.0, b_std: 0.5}\n", extra="input_shape: [100]\n")),
    )
    x = inputs(2, 100)
    expected = 2.0 / 10.0 * x @ ntk_params.layers[0]["w"] + 0.5 * ntk_params.layers[0]["b"]
    np.testing.assert_allclose(apply(ntk_params, x), expected, rtol=1e-12)


def test_output_layer_keeps_its_width_and_hidden_layers_take_the_override():
    params = init(jax.random.PRNGKey(0), mixed_spec(), width=7)
    assert params.layers[0]["w"].shape == (6, 7)
    assert params.layers[-1]["w"].shape == (7, 3)
    assert apply(params, inputs(4)).shape == (4, 3)
    assert init(jax.random.PRNGKey(0), mixed_spec()).layers[0]["w"].shape == (6, 512)


def test_repeated_blocks_get_fresh_weights_each_time():
    spec = ntksym.parse_spec(
        spec_text(
            "  - repeat: 3\n    layers:\n      - dense: {}\n      - activation: relu\n  - dense: {}\n",
            extra="input_shape: [4]\n",
        )
    )
    first, rest = init(jax.random.PRNGKey(0), spec, width=8).layers[0]
    assert first[0]["w"].shape == (4, 8) and rest[0]["w"].shape == (2, 8, 8)
    assert not np.allclose(rest[0]["w"][0], rest[0]["w"][1])


def test_activation_functions_match_jax_reference_forms():
    names = {
        "relu": jax.nn.relu,
        "gelu": lambda x: jax.nn.gelu(x, approximate=False),
        "silu": jax.nn.silu,
        "softplus": jax.nn.softplus,
        "elu": jax.nn.elu,
        "selu": jax.nn.selu,
        "sigmoid": jax.nn.sigmoid,
        "tanh": jnp.tanh,
        "abs": jnp.abs,
    }
    x = jnp.linspace(-4.0, 4.0, 41)
    for name, reference in names.items():
        spec = ntksym.parse_spec(spec_text(f"  - activation: {name}\n", extra="input_shape: [41]\n"))
        phi = network(spec).activations[0]
        np.testing.assert_allclose(phi(x), reference(x), rtol=1e-12, atol=1e-12, err_msg=name)


def test_generated_module_builds_runs_and_measures_the_same_network(tmp_path):
    spec = mixed_spec()
    path = tmp_path / "generated_net.py"
    path.write_text(emit_module(ntksym.derive(spec), "float64"))
    module = import_module_file(path, "generated_net_for_test")
    key, x1, x2 = jax.random.PRNGKey(3), inputs(5), inputs(3, seed=1)
    params = module.init(key, 24)
    reference = init(key, spec, width=24)
    np.testing.assert_allclose(module.apply(params, x1), apply(reference, x1), rtol=1e-12)
    # the runtime's fast path, itself checked against the Jacobian contraction above
    np.testing.assert_allclose(
        module.empirical_ntk(params, x1, x2), empirical_ntk(reference, x1, x2), rtol=1e-9
    )


def _monte_carlo_errors(samples: tuple[int, ...], readout: bool) -> list[float]:
    """Relative error of the Monte Carlo NNGP of a one-hidden-layer net at width 256, per sample count."""
    spec = ntksym.parse_spec(
        spec_text(
            "  - dense: {w_std: 1.4, b_std: 0.2}\n  - activation: relu\n"
            "  - dense: {w_std: 1.1, b_std: 0.1}\n",
            extra="input_shape: [6]\n",
        )
    )
    x = inputs(6)
    exact = ntksym.compile(spec, "float64").kernel(x).nngp
    net = network(spec)
    errors = []
    for s in samples:  # batch 64: one compiled program for every sample count
        mc = monte_carlo_nngp(net, x, width=256, samples=s, key=jax.random.PRNGKey(s), readout=readout, batch=64)
        errors.append(np.linalg.norm(mc - exact) / np.linalg.norm(exact))
    return errors


def test_monte_carlo_nngp_approaches_the_analytic_one():
    # error ~ 1/sqrt(samples): 16x the samples, 4x smaller (measured 0.27 -> 0.063; readout 0.017 -> 0.0028).
    # One hidden layer's readout covariance is unbiased at any width, so a wrong analytic NNGP cannot pass.
    for readout, tolerance in ((False, 0.1), (True, 0.008)):
        errors = _monte_carlo_errors((64, 1024), readout)
        assert errors[1] < errors[0] / 2.5 and errors[1] < tolerance, (readout, errors)


@pytest.mark.slow  # 4096 samples
def test_monte_carlo_nngp_converges_to_the_analytic_one():
    # error ~ 1/sqrt(samples): one hidden layer's readout covariance is unbiased at any width
    for readout, tolerance in ((False, 0.05), (True, 0.01)):
        errors = _monte_carlo_errors((64, 512, 4096), readout)
        assert errors[2] < errors[0] / 4 and errors[2] < tolerance, (readout, errors)


@pytest.mark.slow  # about 30 s on 2 cores; test_check.py checks by default that the NTK error falls with width
def test_ntk_error_falls_with_width_at_about_the_inverse_square_root():
    spec = ntksym.parse_spec(
        spec_text(
            "  - repeat: 2\n    layers:\n      - dense: {w_std: 1.4, b_std: 0.1}\n"
            "      - activation: relu\n  - dense: {}\n",
            extra="input_shape: [6]\n",
        )
    )
    x = inputs(8)
    exact = ntksym.compile(spec, "float64").kernel(x).ntk
    widths = [32, 128, 512]
    means = []
    for width in widths:
        errors = [
            np.linalg.norm(empirical_ntk(init(jax.random.PRNGKey(s), spec, width), x) - exact)
            for s in range(6)
        ]
        means.append(np.mean(errors) / np.linalg.norm(exact))
    slope = np.polyfit(np.log(widths), np.log(means), 1)[0]
    assert -0.8 < slope < -0.3


def test_unsupported_layers_and_bad_widths_are_refused_with_a_clear_message():
    with pytest.raises(ntksym.SpecError, match="needs spatial inputs, but the spec has no input_shape"):
        ntksym.parse_spec(spec_text("  - conv: {filter: [3]}\n  - flatten\n  - dense: {}\n"))
    residual = ntksym.parse_spec(
        spec_text(
            "  - residual:\n      layers:\n        - dense: {}\n  - dense: {}\n", extra="input_shape: [5]\n"
        )
    )
    with pytest.raises(ntksym.InputError, match="x \\+ block\\(x\\) needs equal widths"):
        init(jax.random.PRNGKey(0), residual, width=8)
    with pytest.raises(ntksym.InputError, match="unknown hyperparameters \\['nope'\\]"):
        network(mixed_spec(), {"nope": 1.0})
    with pytest.raises(ntksym.InputError, match="no input_shape: pass input_dim="):
        init(jax.random.PRNGKey(0), ntksym.parse_spec(spec_text("  - dense: {}\n")))
