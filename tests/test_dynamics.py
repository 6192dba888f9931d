"""Training dynamics of the infinite ensemble (Lee et al. 2019) through the Python API.

Most tests share one data set and one time grid of length 5 so that the jitted core compiles few times.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml
from conftest import DATA

import ntksym
from ntksym.runtime.dynamics import max_learning_rate, predict_from_kernels

TIMES = np.array([0.0, 0.5, 5.0, 50.0, np.inf])


def _reference_cases():
    cases = json.loads((DATA / "nt_reference_public.json").read_text())["cases"]
    dynamic = [c for c in cases if "dynamics" in c]
    # each compiles a prediction program (15-30 s on 2 cores): dyn-erf by default, dyn-relu with -m slow
    return [pytest.param(c, g, id=f"{c['id']}-{g}", marks=(pytest.mark.slow,) if c["id"] == "dyn-relu" else ())
            for c in dynamic for g in ("nngp", "ntk")]


def _model(layers, name):
    doc = {"ntksym": 1, "name": name, "layers": layers}
    return ntksym.compile(ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)), dtype="float64")


@pytest.fixture(scope="module")
def relu_model():
    hidden = [{"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": "relu"}]
    return _model(hidden * 2 + [{"dense": {"w_std": 1.0}}], "dyn-test-relu")


@pytest.fixture(scope="module")
def blocks(relu_model):
    """Kernels of 8 train and 3 test points, and targets with 2 outputs."""
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(8, 4)), rng.normal(size=(3, 4))
    y = rng.normal(size=(8, 2))
    dd, td, tt = relu_model.kernel(x_train), relu_model.kernel(x_test, x_train), relu_model.kernel(x_test)
    return {"x_train": x_train, "x_test": x_test, "y": y, "dd": dd, "td": td, "tt": tt}


def _run(b, kernel="ntk", t=TIMES, y=None, **options):
    pick = (lambda k: k.nngp) if kernel == "nngp" else (lambda k: k.ntk)
    return predict_from_kernels(pick(b["dd"]), pick(b["td"]), b["y"] if y is None else y, t,
                                nngp_train_train=b["dd"].nngp, nngp_test_train=b["td"].nngp,
                                nngp_test_test=b["tt"].nngp, kernel=kernel, **options)


@pytest.mark.parametrize(("case", "get"), _reference_cases())
def test_mean_and_covariance_match_neural_tangents(case, get):
    doc = {"ntksym": 1, "name": case["id"], "parameterization": case["parameterization"],
           "input_shape": case["input_shape"], "layers": case["layers"]}
    model = ntksym.compile(ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)), dtype="float64")
    ref = case["dynamics"][get]
    got = ntksym.predict(model, np.asarray(case["x_train"]), np.asarray(case["y_train"]),
                         np.asarray(case["x_test"]), [*ref["t"], np.inf], kernel=get,
                         diag_reg=case["diag_reg"])
    mean = np.concatenate([np.asarray(ref["mean"]), np.asarray(ref["mean_inf"])[None]])
    cov = np.concatenate([np.asarray(ref["cov"]), np.asarray(ref["cov_inf"])[None]])
    assert got.mean.shape == mean.shape and got.cov.shape == cov.shape
    assert np.abs(got.mean - mean).max() / np.abs(mean).max() <= 1e-8
    assert np.abs(got.cov - cov).max() / np.abs(cov).max() <= 1e-8


@pytest.mark.parametrize("kernel", ["ntk", "nngp"])
def test_time_zero_is_the_prior(blocks, kernel):
    p = _run(blocks, kernel)
    assert np.all(p.mean[0] == 0)
    np.testing.assert_allclose(p.cov[0], blocks["tt"].nngp, rtol=1e-12, atol=1e-12)
    assert p.train_loss[0] == pytest.approx(np.sum(blocks["y"] ** 2) / (2 * blocks["y"].size))


@pytest.mark.parametrize("kernel", ["ntk", "nngp"])
def test_train_mean_converges_to_targets_and_loss_falls(blocks, kernel):
    p = _run(blocks, kernel)
    np.testing.assert_allclose(p.train_mean[-1], blocks["y"], atol=1e-8)
    assert np.all(np.diff(p.train_loss) < 0)
    assert p.train_loss[-1] < 1e-15


def test_long_finite_time_approaches_the_cholesky_limit(blocks):
    p = _run(blocks, "ntk", t=np.array([0.0, 1e3, 1e5, 1e7, np.inf]))
    np.testing.assert_allclose(p.mean[-2], p.mean[-1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(p.cov[-2], p.cov[-1], rtol=1e-6, atol=1e-9)


def test_nngp_at_infinity_is_the_gp_posterior(blocks):
    reg = 1e-3
    p = _run(blocks, "nngp", diag_reg=reg)
    k_dd, k_td, k_tt = blocks["dd"].nngp, blocks["td"].nngp, blocks["tt"].nngp
    noisy = k_dd + reg * np.trace(k_dd) / len(k_dd) * np.eye(len(k_dd))
    np.testing.assert_allclose(p.mean[-1], k_td @ np.linalg.solve(noisy, blocks["y"]), rtol=1e-9)
    np.testing.assert_allclose(p.cov[-1], k_tt - k_td @ np.linalg.solve(noisy, k_td.T), rtol=1e-9, atol=1e-12)


def test_absolute_and_relative_regularisation_agree(blocks):
    k = blocks["dd"].ntk
    relative = _run(blocks, diag_reg=1e-2)
    absolute = _run(blocks, diag_reg=1e-2 * np.trace(k) / len(k), diag_reg_absolute=True)
    np.testing.assert_allclose(relative.mean, absolute.mean, rtol=1e-12)
    np.testing.assert_allclose(relative.cov, absolute.cov, rtol=1e-12, atol=1e-14)


def test_outputs_train_independently_on_a_loss_normalised_by_n_k(blocks):
    """Each of the k outputs follows the one-output dynamics with time scaled by 1/k (loss / (2 n k))."""
    both = _run(blocks)
    single = _run(blocks, y=blocks["y"][:, :1], t=TIMES / 2)
    np.testing.assert_allclose(both.mean[..., :1], single.mean, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(both.cov, single.cov, rtol=1e-10, atol=1e-14)


def test_discrete_descent_with_a_tiny_step_matches_gradient_flow(blocks):
    eta = 1e-2 * max_learning_rate(blocks["dd"].ntk, output_dim=2)
    steps = np.array([0.0, 10.0, 100.0, 1000.0, 5000.0])
    flow = _run(blocks, t=steps, learning_rate=eta)
    errors = []
    for refine in (1, 10):  # the same time eta * steps in steps ten times smaller
        gd = _run(blocks, t=steps * refine, learning_rate=eta / refine, discrete=True)
        errors.append(np.abs(gd.mean - flow.mean).max() / np.abs(flow.mean).max())
        assert np.abs(gd.cov - flow.cov).max() / np.abs(flow.cov).max() < 1e-2
    assert errors[0] < 1e-2 and errors[1] < errors[0] / 5  # first order in the step size


def test_above_the_maximal_rate_the_loss_diverges_and_warns(blocks):
    max_rate = max_learning_rate(blocks["dd"].ntk, output_dim=2)
    steps = np.array([0.0, 10.0, 100.0, 1000.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stable = _run(blocks, t=steps, learning_rate=0.99 * max_rate, discrete=True)
    assert stable.train_loss[-1] < 1e-20 and stable.max_learning_rate == pytest.approx(max_rate)
    with pytest.warns(RuntimeWarning, match="maximal stable rate .* diverges"):
        unstable = _run(blocks, t=steps, learning_rate=1.01 * max_rate, discrete=True)
    loss = unstable.train_loss
    assert np.all(np.diff(loss[1:4]) > 0) and loss[3] > 1e3 * loss[0]


def test_maximal_rate_is_two_n_k_over_the_largest_eigenvalue(blocks):
    k = blocks["dd"].ntk
    want = 2 * 8 * 3 / np.linalg.eigvalsh(k)[-1]
    assert max_learning_rate(k, output_dim=3) == pytest.approx(want, rel=1e-12)
    assert max_learning_rate(np.zeros((4, 4))) == np.inf


def test_singular_and_nearly_rank_one_kernels_give_no_nan():
    deep = _model([{"repeat": 30, "layers": [{"dense": {"w_std": 1.0}}, {"activation": "relu"}]},
                   {"dense": {"w_std": 1.0}}], "dyn-test-deep")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3))
    x_train = np.concatenate([x, x[:2]])  # repeated inputs: an exactly singular kernel
    p = ntksym.predict(deep, x_train, rng.normal(size=(8, 1)), rng.normal(size=(3, 3)),
                       [0.0, 1e-3, 1.0, 1e6, np.inf])
    for array in (p.mean, p.cov, p.train_loss, p.train_mean):
        assert np.all(np.isfinite(array))
    rank_one = np.outer(np.arange(1.0, 5.0), np.arange(1.0, 5.0))
    q = predict_from_kernels(rank_one, rank_one[:2], np.ones(4), TIMES, nngp_train_train=rank_one,
                             nngp_test_train=rank_one[:2], nngp_test_test=rank_one[:2, :2])
    assert np.all(np.isfinite(q.mean)) and np.all(np.isfinite(q.cov))
    v = np.arange(1.0, 5.0) / np.linalg.norm(np.arange(1.0, 5.0))  # t = inf: y projected on the range
    np.testing.assert_allclose(q.train_mean[-1, :, 0], v * (v @ np.ones(4)), rtol=1e-10)
    zero = predict_from_kernels(np.zeros((4, 4)), np.zeros((2, 4)), np.ones(4), TIMES)
    assert np.all(zero.mean == 0) and zero.max_learning_rate == np.inf


@pytest.mark.parametrize(
    ("options", "message"),
    [({"kernel": "gp"}, "kernel must be one of ntk, nngp"),
     ({"learning_rate": -1.0}, "learning_rate must be a positive number"),
     ({"diag_reg": float("nan")}, "diag_reg must be a number >= 0"),
     ({"t": [0.0, -1.0]}, "times must be >= 0"),
     ({"t": [0.5, 2.0], "discrete": True}, "must be whole numbers"),
     ({"t": ["soon"]}, "expected numbers"),
     ({"y": np.ones((5, 1))}, r"y_train: expected shape \(8, outputs\)"),
     ({"y": np.full((8, 1), np.nan)}, "y_train: must hold finite numbers")],
)
def test_bad_inputs_raise_one_clear_error(blocks, options, message):
    with pytest.raises(ntksym.InputError, match=message):
        _run(blocks, **options)


def test_prediction_exposes_losses_for_test_targets(blocks, relu_model):
    y_test = np.ones((3, 2))
    p = ntksym.predict(relu_model, blocks["x_train"], blocks["y"], blocks["x_test"], TIMES, y_test=y_test,
                       compute_cov=False)
    assert p.cov is None and p.kernel == "ntk"
    np.testing.assert_allclose(p.test_loss, np.sum((p.mean - y_test) ** 2, axis=(1, 2)) / (2 * y_test.size))
    assert ntksym.dynamics.Prediction is ntksym.Prediction
