"""Hyperparameters fitted by the GP marginal likelihood (ntksym/runtime/hyperfit.py, `ntksym fit`)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import spec_text
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.runtime.hyperfit import count_hyperparameters, cv_accuracy, fit, negative_log_likelihood, targets

SPEC = spec_text("  - repeat: depth\n    layers:\n      - dense: {w_std: sigma_w, b_std: sigma_b}\n"
                 "      - activation: relu\n  - dense: {width: 1, w_std: 1.0, b_std: 0.0}\n",
                 name="fit-relu", extra="input_shape: [64]\nhyperparameters: {sigma_w: 1.2, sigma_b: 0.3, depth: 2}\n")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[:160] / 16.0, data.target[:160]


def test_marginal_likelihood_matches_an_independent_formula():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    k, y = a @ a.T + 0.1 * np.eye(6), rng.standard_normal((6, 2))
    cov = k + 0.05 * np.mean(np.diag(k)) * np.eye(6)
    want = sum(0.5 * col @ np.linalg.solve(cov, col) + 0.5 * np.linalg.slogdet(cov)[1] + 3 * np.log(2 * np.pi)
               for col in y.T)
    assert float(negative_log_likelihood(k, y, 0.05)) == pytest.approx(want, rel=1e-12)


def test_counts_are_not_fitted_and_labels_become_centred_one_hot():
    assert count_hyperparameters(ntksym.parse_spec(SPEC)) == {"depth"}
    np.testing.assert_allclose(targets(np.array([0, 2, 2, 5])), np.eye(3)[[0, 1, 1, 2]] - 1 / 3)


def test_bfgs_reaches_the_optimum_nelder_mead_finds_from_the_same_start(digits):
    from scipy.optimize import minimize

    x, y = digits
    spec = ntksym.parse_spec(SPEC)
    result = fit(spec, x, y, noise=0.01)
    assert result.log_likelihood > result.start_log_likelihood + 1.0
    model = ntksym.compile(spec, dtype="float64")

    def objective(theta):
        k = model.kernel(x, sigma_w=theta[0], sigma_b=theta[1]).nngp
        return float(negative_log_likelihood(k, targets(y), 0.01))

    derivative_free = minimize(objective, [1.2, 0.3], method="Nelder-Mead",
                               options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 2000})
    assert result.log_likelihood == pytest.approx(-derivative_free.fun, rel=1e-4)
    assert result.log_likelihood >= -derivative_free.fun - 1e-6 * abs(derivative_free.fun)
    assert dict(result.spec.hyperparameters)["depth"] == 2  # counts untouched


@pytest.mark.slow  # 4-5 s; the default optimizer (BFGS) is checked by default above
def test_adam_and_the_ntk_gp_raise_the_likelihood_too(digits):
    x, y = digits
    result = fit(ntksym.parse_spec(SPEC), x[:80], y[:80], kernel="ntk", method="adam", steps=40, names=["sigma_w"])
    assert result.log_likelihood > result.start_log_likelihood
    assert set(result.values) == {"sigma_w", "noise"}


@pytest.mark.slow  # 10-15 s: BFGS through the CLI; BFGS is tested above and the CLI by the cv_accuracy test
def test_cli_writes_a_fitted_spec_that_loads(tmp_path, digits):
    x, y = digits
    (tmp_path / "spec.yaml").write_text(SPEC)
    np.savez(tmp_path / "train.npz", x=x[:100], y=y[:100])
    np.savez(tmp_path / "test.npz", x=x[100:], y=y[100:])
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "spec.yaml"), "--train", str(tmp_path / "train.npz"),
                                      "--test", str(tmp_path / "test.npz"), "--params", "sigma_w", "--noise", "0.01", "--steps", "5",
                                      "-o", str(out), "--report", str(tmp_path / "fit.json")])
    assert result.exit_code == 0, result.output
    fitted = ntksym.load_spec(out)
    doc = yaml.safe_load(out.read_text())
    assert doc["hyperparameters"]["sigma_b"] == 0.3 and doc["hyperparameters"]["sigma_w"] != 1.2
    assert dict(fitted.hyperparameters)["sigma_w"] == doc["hyperparameters"]["sigma_w"]
    assert "test accuracy" in result.output and "log marginal likelihood" in result.output


def test_cv_accuracy_of_known_kernels():
    labels = np.array([0, 1, 2] * 10)
    same_class = (labels[:, None] == labels[None, :]).astype(float)
    assert cv_accuracy(same_class, labels, 1e-3, 5) == 1.0
    # no information between examples: every held-out score is 0 and the arg-max is the first class
    assert cv_accuracy(np.eye(30), labels, 1e-3, 5) == pytest.approx(1 / 3)
    assert cv_accuracy(1.0 - same_class + np.eye(30), labels, 1e-3, 3) < 1 / 3  # anti-correlated classes


def test_cross_validated_accuracy_search_lowers_a_bias_that_drowns_the_inputs(digits):
    x, y = digits
    spec = ntksym.parse_spec(SPEC.replace("sigma_b: 0.3", "sigma_b: 5.0"))
    result = ntksym.fit_cv_accuracy(spec, x, y, names=["sigma_b"], noise=0.3)
    assert result.objective == "cv_accuracy" and set(result.values) == {"sigma_b", "noise"}
    assert result.start_cv_accuracy < 0.8 < 0.9 < result.cv_accuracy  # 0.62 -> 0.96 when this was written
    assert result.values["sigma_b"] < 1.0 and list(result.history) == sorted(result.history)
    order = np.random.default_rng(0).permutation(len(y))  # the folds the search used
    model = ntksym.compile(spec, dtype="float64")
    k = np.asarray(model.kernel(x[order], sigma_b=result.values["sigma_b"]).nngp)
    assert cv_accuracy(k, y[order], 0.3, 5) == result.cv_accuracy
    assert dict(result.spec.hyperparameters)["sigma_b"] == result.values["sigma_b"]


def test_cli_fits_by_cross_validated_accuracy(tmp_path, digits):
    x, y = digits
    (tmp_path / "spec.yaml").write_text(SPEC.replace("sigma_b: 0.3", "sigma_b: 5.0"))
    np.savez(tmp_path / "train.npz", x=x, y=y)
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "spec.yaml"), "--train", str(tmp_path / "train.npz"),
                                      "--objective", "cv-accuracy", "--folds", "4", "--params", "sigma_b",
                                      "--noise", "0.3", "-o", str(out), "--report", str(tmp_path / "fit.json")])
    assert result.exit_code == 0, result.output
    assert "4-fold CV accuracy" in result.output
    report = __import__("json").loads((tmp_path / "fit.json").read_text())
    assert report["objective"] == "cv_accuracy" and report["cv_accuracy"] > report["start_cv_accuracy"]
    assert yaml.safe_load(out.read_text())["hyperparameters"]["sigma_b"] == report["values"]["sigma_b"] < 5.0


@pytest.mark.parametrize("args,error", [
    (["--objective", "accuracy"], "--objective"),
    (["--objective", "cv_accuracy", "--folds", "1"], "--folds"),
    (["--params", "width"], "not a hyperparameter"),
    (["--params", "depth"], "is a count"),
    (["--kernel", "rbf"], "--kernel"),
    (["--noise", "-1"], "--noise"),
])
def test_bad_options_exit_2_with_one_line_and_write_nothing(tmp_path, args, error):
    (tmp_path / "spec.yaml").write_text(SPEC)
    np.savez(tmp_path / "train.npz", x=np.ones((4, 64)), y=np.arange(4))
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "spec.yaml"), "--train", str(tmp_path / "train.npz"),
                                      "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert error in lines[-1] and not out.exists()
