"""Hyperparameters fitted by the GP marginal likelihood (ntksym/runtime/hyperfit.py, `ntksym fit`)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import spec_text
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.runtime.hyperfit import count_hyperparameters, fit, negative_log_likelihood, targets

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


def test_adam_and_the_ntk_gp_raise_the_likelihood_too(digits):
    x, y = digits
    result = fit(ntksym.parse_spec(SPEC), x[:80], y[:80], kernel="ntk", method="adam", steps=40, names=["sigma_w"])
    assert result.log_likelihood > result.start_log_likelihood
    assert set(result.values) == {"sigma_w", "noise"}


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


@pytest.mark.parametrize("args,error", [
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
