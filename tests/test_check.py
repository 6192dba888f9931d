"""`ntksym check` / `ntksym.check`: width sweep, training drift, the report and its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import spec_text
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.runtime.check import with_width
from ntksym.runtime.dynamics import predict_from_kernels

RELU = spec_text(
    "  - repeat: 2\n    layers:\n      - dense: {w_std: 1.4, b_std: 0.1}\n"
    "      - activation: relu\n  - dense: {w_std: 1.0, b_std: 0.0}\n",
    name="relu2",
    extra="input_shape: [5]\n",
)


def test_check_reports_errors_drift_and_prediction_gap_per_width(tmp_path):
    report = ntksym.check(
        ntksym.parse_spec(RELU),
        [16, 64],
        seeds=2,
        n=6,
        train_steps=20,
        train_seeds=2,
        samples=4,
        dtype="float64",
    )
    assert report.ntk_rel_error.shape == (2, 2) and report.ntk_drift.shape == (2, 2)
    assert np.all(report.ntk_rel_error > 0) and np.all(np.isfinite(report.prediction_gap))
    assert np.all(report.final_train_loss[:, :] < 1.0)
    assert report.learning_rate[0] == pytest.approx(report.max_stable_learning_rate[0] / 2)
    paths = report.save(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    for key in (
        "widths",
        "ntk_rel_error",
        "nngp_rel_error",
        "ntk_error_rate",
        "nngp_error_rate",
        "ntk_drift",
        "prediction_gap",
    ):
        assert key in data
    assert data["widths"] == [16, 64] and len(data["ntk_rel_error"]["std"]) == 2
    assert {p.name for p in paths} == {
        "report.json",
        "error_vs_width.png",
        "drift_vs_width.png",
        "prediction_gap_vs_width.png",
    }
    assert all(p.stat().st_size > 1000 for p in paths)


def test_cli_check_writes_the_report_and_refuses_bad_widths(tmp_path):
    spec = tmp_path / "relu.yaml"
    spec.write_text(RELU)
    runner = CliRunner()
    # the same sizes as the test above, so the compiled functions are reused
    result = runner.invoke(
        app,
        [
            "check",
            str(spec),
            "--widths",
            "16,64",
            "--seeds",
            "2",
            "--n",
            "6",
            "--train-steps",
            "20",
            "--train-seeds",
            "2",
            "--samples",
            "4",
            "--x64",
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fitted rates" in result.output and (tmp_path / "out" / "error_vs_width.png").exists()
    bad = runner.invoke(app, ["check", str(spec), "--widths", "16,wide", "-o", str(tmp_path / "out")])
    assert bad.exit_code == 2 and "--widths must be whole numbers" in bad.output


def test_standard_parameterization_compares_against_the_kernel_of_each_width():
    spec = ntksym.parse_spec(
        spec_text(
            "  - dense: {w_std: 1.4, b_std: 0.1, width: 8}\n  - activation: relu\n  - dense: {}\n",
            extra="parameterization: standard\ninput_shape: [5]\n",
        )
    )
    wide = with_width(spec, 64)
    assert wide.layers[0].width == 64 and wide.layers[2].width is None and wide.sha256 != spec.sha256
    report = ntksym.check(spec, [64], seeds=2, n=6, train_steps=0, samples=4, dtype="float64")
    assert report.ntk_rel_error.max() < 0.5  # against the width-8 kernel it would be about 8x off


def test_discrete_prediction_matches_iterated_linear_dynamics():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 7))
    theta = z @ z.T + np.eye(7)
    train, test = np.arange(4), np.arange(4, 7)
    y = rng.normal(size=(4, 2))
    eta, steps = 0.7 * 2 * 4 * 2 / np.linalg.eigvalsh(theta[np.ix_(train, train)])[-1], 25
    f_train, f_test = np.zeros((4, 2)), np.zeros((3, 2))
    for _ in range(steps):
        residual = f_train - y
        f_test = f_test - eta / 8 * theta[np.ix_(test, train)] @ residual
        f_train = f_train - eta / 8 * theta[np.ix_(train, train)] @ residual
    got = predict_from_kernels(theta[np.ix_(train, train)], theta[np.ix_(test, train)], y, [steps],
                               learning_rate=eta, discrete=True)
    np.testing.assert_allclose(got.mean[0], f_test, rtol=1e-10)


@pytest.mark.slow
def test_kernel_errors_fall_with_width_at_a_rate_between_minus_0_8_and_minus_0_3():
    report = ntksym.check(ntksym.parse_spec(RELU), [64, 256, 1024], seeds=8, n=16, train_steps=0, samples=16)
    assert -0.8 < report.ntk_error_rate < -0.3
    assert -0.8 < report.nngp_error_rate < -0.3
