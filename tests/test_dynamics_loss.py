"""Dynamics with any loss (cross-entropy, MSE), momentum, discrete descent, and the NTK-GP posterior.

References: tests/data/nt_dynamics_extra.json, made by tools/make_dynamics_cases.py with neural-tangents
0.6.5 (predict.gradient_descent, jax.example_libraries.optimizers on a linear model, gp_inference ntkgp).
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import yaml
from conftest import DATA

import ntksym
from ntksym.dynamics import predict_from_kernels, train, train_from_kernels
from ntksym.errors import InputError

CASES = json.loads((DATA / "nt_dynamics_extra.json").read_text())["cases"]
TRAINING = [c for c in CASES if c["kind"] in ("ode", "discrete")]
NTKGP = [c for c in CASES if c["kind"] == "ntkgp"]


def _train(case, **extra):
    options = {"loss": case["loss"], "learning_rate": case["learning_rate"], "momentum": case["momentum"],
               "discrete": case["kind"] == "discrete", "fx_train_0": case["fx_train_0"],
               "fx_test_0": case["fx_test_0"], **extra}
    t = options.pop("t", case["t"])
    return train_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], t, **options)


@pytest.mark.parametrize("case", TRAINING, ids=[c["id"] for c in TRAINING])
def test_training_matches_neural_tangents(case):
    result = _train(case)
    assert result.train.shape == np.shape(case["train"]) and result.test.shape == np.shape(case["test"])
    np.testing.assert_allclose(result.train, case["train"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.test, case["test"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", NTKGP, ids=[c["id"] for c in NTKGP])
def test_ntkgp_posterior_matches_neural_tangents(case):
    p = predict_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], [np.inf], kernel="ntkgp",
                             k_test_test=case["ntk_tt"], diag_reg=case["diag_reg"])
    np.testing.assert_allclose(p.mean[-1], case["mean"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(p.cov[-1], case["cov"], rtol=0, atol=1e-10)
    nngp = predict_from_kernels(case["nngp_dd"], case["nngp_td"], case["y_train"], [np.inf], kernel="nngp",
                                nngp_test_test=case["nngp_tt"], diag_reg=case["diag_reg"])
    assert np.abs(nngp.cov[-1] - p.cov[-1]).max() > 1e-3  # a different posterior, not the NNGP's


def test_class_labels_train_like_one_hot_targets():
    case = TRAINING[0]
    one_hot = _train(case, discrete=True, t=[0, 3, 20])
    labels = train_from_kernels(
        case["ntk_dd"], case["ntk_td"], case["labels"], [0, 3, 20], loss="cross_entropy", discrete=True,
        learning_rate=case["learning_rate"], num_classes=3)
    np.testing.assert_allclose(labels.test, one_hot.test, rtol=0, atol=1e-13)
    assert np.all(np.diff(labels.train_loss) < 0)


def test_mse_flow_matches_the_closed_form_and_tiny_steps_match_the_flow():
    case = next(c for c in TRAINING if c["id"] == "ode-mse")
    t = np.array([0.5, 5.0, 40.0])
    flow = train_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], t, loss="mse", learning_rate=2.0)
    closed = predict_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], t, learning_rate=2.0, cov=False)
    np.testing.assert_allclose(flow.test, closed.mean, rtol=0, atol=1e-8)
    steps = train_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], t * 1000, loss="mse",
                               learning_rate=2e-3, discrete=True)
    np.testing.assert_allclose(steps.test, flow.test, rtol=0, atol=2e-3)


def test_momentum_zero_steps_equal_plain_steps_and_momentum_changes_them():
    case = TRAINING[0]
    plain = _train(case, discrete=True, t=[5, 30], momentum=None)
    zero = _train(case, discrete=True, t=[5, 30], momentum=0.0)
    heavy = _train(case, discrete=True, t=[5, 30], momentum=0.9)
    np.testing.assert_array_equal(plain.test, zero.test)
    assert np.abs(heavy.test - plain.test).max() > 1e-3


def test_empirical_ntk_training_starts_at_the_network_outputs():
    doc = {"ntksym": 1, "name": "dyn-loss-emp", "layers": [{"dense": {"w_std": 1.5, "b_std": 0.1}},
                                                           {"activation": "relu"}, {"dense": {"width": 3}}]}
    model = types.SimpleNamespace(spec=ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)))
    rng = np.random.default_rng(0)
    x, xt, labels = rng.normal(size=(6, 4)), rng.normal(size=(2, 4)), np.array([0, 1, 2, 0, 1, 2])
    result = train(model, x, labels, xt, [0, 10, 100], loss="cross_entropy", ntk="empirical", width=64,
                   discrete=True, learning_rate=0.5, momentum=0.5)
    params = ntksym.runtime.network.init(__import__("jax").random.PRNGKey(0), model.spec, 64, input_dim=4)
    np.testing.assert_allclose(result.train[0], np.asarray(ntksym.runtime.network.apply(params, x)), atol=1e-12)
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]
    with pytest.raises(InputError, match="outputs but the network has 3"):
        train(model, x, np.eye(4)[[0, 1, 2, 3, 0, 1]], xt, [1], loss="cross_entropy", ntk="empirical", width=8)


@pytest.mark.parametrize(("options", "message"), [
    ({"loss": "hinge"}, "loss must be one of mse, cross_entropy"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"t": [1, np.inf]}, "inf is only available for loss mse"),
    ({"t": [1.5], "discrete": True}, "must be whole numbers"),
    ({"y_train": np.ones((10, 1))}, "at least 2 outputs"),
    ({"y_train": -np.eye(3)[np.zeros(10, int)]}, "must be >= 0"),
    ({"y_train": np.full(10, 0.5)}, "class indices"),
    ({"fx_train_0": np.zeros((2, 3))}, "fx_train_0: expected a number or shape"),
    ({"learning_rate": 0.0}, "learning_rate must be a positive number"),
])
def test_bad_inputs_raise_one_clear_error(options, message):
    case = TRAINING[0]
    args = {"y_train": case["y_train"], "t": [1.0], "loss": "cross_entropy", **options}
    y, t = args.pop("y_train"), args.pop("t")
    with pytest.raises(InputError, match=message):
        train_from_kernels(case["ntk_dd"], case["ntk_td"], y, t, **args)


def test_ntkgp_needs_infinite_time():
    case = NTKGP[0]
    with pytest.raises(InputError, match="t = inf only"):
        predict_from_kernels(case["ntk_dd"], case["ntk_td"], case["y_train"], [1.0, np.inf], kernel="ntkgp")


@pytest.mark.slow
def test_compiled_model_kernels_reproduce_the_references():
    """The spec's own NTK (not NT's stored one) gives NT's cross-entropy trajectory and NTK-GP posterior."""
    case = next(c for c in TRAINING if c["id"] == "ode-ce-momentum")
    gp = NTKGP[0]
    doc = {"ntksym": 1, "name": "dyn-loss-ref", "parameterization": "ntk", "layers": case["layers"]}
    model = ntksym.compile(ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)), dtype="float64")
    result = train(model, case["x_train"], case["labels"], case["x_test"], case["t"], loss="cross_entropy",
                   learning_rate=case["learning_rate"], momentum=case["momentum"])
    np.testing.assert_allclose(result.test, case["test"], rtol=0, atol=1e-6)
    p = ntksym.predict(model, gp["x_train"], gp["y_train"], gp["x_test"], [np.inf], kernel="ntkgp",
                       diag_reg=gp["diag_reg"])
    np.testing.assert_allclose(p.mean[-1], gp["mean"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(p.cov[-1], gp["cov"], rtol=0, atol=1e-6)


def test_test_targets_are_checked_and_scored():
    case = TRAINING[0]
    args = (case["ntk_dd"], case["ntk_td"], case["labels"], [0, 5])
    result = train_from_kernels(*args, loss="cross_entropy", discrete=True, y_test=[0, 1, 2, 1])
    want = -np.log(np.take_along_axis(np.exp(result.test) / np.exp(result.test).sum(-1, keepdims=True),
                                      np.array([0, 1, 2, 1])[None, :, None], -1)).sum((1, 2)) / 12
    np.testing.assert_allclose(result.test_loss, want, rtol=1e-12)
    with pytest.raises(InputError, match="y_test: label 5 is out of range"):
        train_from_kernels(*args, loss="cross_entropy", discrete=True, y_test=[0, 1, 5, 1])


def test_small_step_momentum_descent_approaches_the_momentum_ode():
    """Steps s of heavy-ball descent ~ the ODE at t = s (time sqrt(eta) s) when (1 - mu)/sqrt(eta) is fixed."""
    case = TRAINING[0]
    eta = 1e-4
    mu = 1 - 0.5 * np.sqrt(eta)
    args = (case["ntk_dd"], case["ntk_td"], case["y_train"], [500, 2000, 4000])
    steps = train_from_kernels(*args, loss="cross_entropy", learning_rate=eta, momentum=mu, discrete=True)
    flow = train_from_kernels(*args, loss="cross_entropy", learning_rate=eta, momentum=mu)
    plain = train_from_kernels(*args, loss="cross_entropy", learning_rate=eta)
    assert np.abs(steps.test - flow.test).max() < 5e-3
    assert np.abs(plain.test - flow.test).max() > 0.1
