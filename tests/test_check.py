"""`ntksym check` / `ntksym.check`: width sweep, training drift, the report and its figures."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from conftest import spec_text
from reference_kernels import kernels
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


# 6 training and 3 test inputs, given explicitly so that the analytic side can be recomputed here
X = np.random.default_rng(0).normal(size=(9, 5))
Y = np.sin(X[:6] @ np.random.default_rng(1).normal(size=(5, 1)))
SIZES = {"widths": [16, 64], "seeds": 2, "n": 6, "train_steps": 20, "train_seeds": 2, "samples": 4}


@pytest.fixture(scope="module")
def report():
    """One check run shared by the tests below (its compiles take most of a test's time)."""
    return ntksym.check(ntksym.parse_spec(RELU), SIZES["widths"], **{k: v for k, v in SIZES.items() if k != "widths"},
                        dtype="float64", x=X, y=Y)


def test_check_measures_kernel_errors_that_fall_with_width(report):
    assert report.ntk_rel_error.shape == report.nngp_rel_error.shape == (2, 2)
    ntk, nngp = report.ntk_rel_error.mean(axis=1), report.nngp_rel_error.mean(axis=1)
    # measured: NTK 0.63 -> 0.32, NNGP 0.42 -> 0.16; a wrong analytic kernel (a missing factor, a wrong dual)
    # leaves an error of order 1 that does not fall with width
    assert ntk[1] < 0.45 and nngp[1] < 0.3, (ntk, nngp)
    assert ntk[1] < 0.75 * ntk[0] and nngp[1] < 0.75 * nngp[0], (ntk, nngp)
    want_rate = np.log(ntk[1] / ntk[0]) / np.log(4.0)  # two widths: the fitted line is the chord
    assert report.ntk_error_rate == pytest.approx(want_rate, rel=1e-9)


def test_check_learning_rate_is_half_the_stable_rate_of_the_analytic_ntk(report):
    ntk = kernels(RELU, X[:6])[1]  # the independent recursion of tests/reference_kernels.py
    stable = 2 * 6 * 1 / np.linalg.eigvalsh(ntk)[-1]  # 2 n k / lambda_max
    assert report.max_stable_learning_rate == pytest.approx([stable, stable], rel=1e-9)
    assert report.learning_rate == pytest.approx([stable / 2, stable / 2], rel=1e-9)


def test_check_trains_and_the_drift_and_prediction_gap_fall_with_width(report):
    assert report.ntk_drift.shape == report.prediction_gap.shape == report.final_train_loss.shape == (2, 2)
    # 20 steps at half the stable rate: below a tenth of the zero function's loss 0.26 (measured 2e-3 .. 2e-2)
    assert np.all(report.final_train_loss < 0.1 * np.sum(Y**2) / (2 * Y.size)), report.final_train_loss
    drift, gap = report.ntk_drift.mean(axis=1), report.prediction_gap.mean(axis=1)
    # measured: drift 0.20 -> 0.085, gap 0.95 -> 0.47 (theory: both about width^-1/2, Lee et al. 2019); an
    # infinite-width prediction from a wrong kernel would leave a gap of order 1 at every width
    assert drift[1] < 0.15 and drift[1] < 0.6 * drift[0], drift
    assert gap[1] < 0.7 and gap[1] < 0.75 * gap[0], gap


def test_check_report_json_holds_the_measured_values(report, tmp_path):
    paths = report.save(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert {k: data[k] for k in ("spec", "parameterization", "dtype", "widths", "seeds", "n_train", "n_test",
                                 "outputs", "nngp_samples", "train_steps", "train_seeds")} == {
        "spec": "relu2", "parameterization": "ntk", "dtype": "float64", "widths": [16, 64], "seeds": 2,
        "n_train": 6, "n_test": 3, "outputs": 1, "nngp_samples": 4, "train_steps": 20, "train_seeds": 2}
    for key in ("ntk_rel_error", "nngp_rel_error", "ntk_drift", "prediction_gap", "final_train_loss"):
        values = getattr(report, key)
        assert data[key]["values"] == values.tolist(), key
        assert data[key]["mean"] == pytest.approx(values.mean(axis=1).tolist(), rel=1e-12), key
        assert data[key]["std"] == pytest.approx(values.std(axis=1).tolist(), rel=1e-12, abs=1e-15), key
    for key in ("ntk_error_rate", "nngp_error_rate", "drift_rate"):
        assert data[key] == pytest.approx(getattr(report, key), rel=1e-12), key
    assert data["learning_rate"] == report.learning_rate
    assert data["max_stable_learning_rate"] == report.max_stable_learning_rate
    assert {p.name for p in paths} == {
        "report.json",
        "error_vs_width.png",
        "drift_vs_width.png",
        "prediction_gap_vs_width.png",
    }
    for path in paths:
        if path.suffix == ".png":
            _assert_png(path.read_bytes(), 660, 480)  # figsize (5.5, 4) at 120 dpi


def _assert_png(data: bytes, width: int, height: int) -> None:
    """A PNG signature, an IHDR chunk of the expected size, an IEND chunk, and more than a blank image."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (width, height)
    assert data[-8:-4] == b"IEND"
    assert 10_000 < len(data) < 500_000, len(data)  # axes, points and labels; a blank 660x480 PNG is ~3 kB


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")  # no drift to fit without training
def test_cli_check_writes_the_report_of_the_api_and_refuses_bad_widths(report, tmp_path):
    spec = tmp_path / "relu.yaml"
    spec.write_text(RELU)
    np.save(tmp_path / "x.npy", X)
    runner = CliRunner()
    # the fixture's sizes, so the compiled kernel functions are reused; no training (the API test covers it)
    sizes = {**SIZES, "train_steps": 0}
    args = [f"--{k.replace('_', '-')}={v if k != 'widths' else ','.join(map(str, v))}" for k, v in sizes.items()]
    result = runner.invoke(app, ["check", str(spec), *args, "--data", str(tmp_path / "x.npy"), "--x64",
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "fitted rates" in result.output
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    # the kernel measurements do not depend on the targets or on training: the same numbers as the API's
    assert data["ntk_rel_error"]["values"] == report.ntk_rel_error.tolist()
    assert data["nngp_rel_error"]["values"] == report.nngp_rel_error.tolist()
    assert data["max_stable_learning_rate"] == pytest.approx(report.max_stable_learning_rate, rel=1e-12)
    _assert_png((tmp_path / "out" / "error_vs_width.png").read_bytes(), 660, 480)
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
