"""`ntksym dynamics`: output arrays, warnings, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
from reference_kernels import kernels
from typer.testing import CliRunner

from ntksym.cli.main import app

SPEC = """ntksym: 1
name: dyn-cli
layers:
  - dense: {w_std: 1.5, b_std: 0.1}
  - activation: relu
  - dense: {w_std: 1.0}
"""


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "spec.yaml").write_text(SPEC)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(8, 4)), y=rng.normal(size=(8, 1)))
    np.savez(tmp_path / "test.npz", x=rng.normal(size=(3, 4)), y=rng.normal(size=(3, 1)))
    return tmp_path


def _invoke(files, *extra, train="train.npz", test="test.npz", t="0,0.5,5,50,inf"):
    args = ["dynamics", str(files / "spec.yaml"), "--train", str(files / train), "--test", str(files / test),
            "--t", t, "-o", str(files / "pred.npz"), "--x64", *extra]
    return CliRunner().invoke(app, args)


def test_writes_mean_covariance_losses_and_plot(files):
    result = _invoke(files, "--plot", str(files / "curves.png"))
    assert result.exit_code == 0, result.output
    with np.load(files / "pred.npz") as out:
        assert out["mean"].shape == (5, 3, 1) and out["cov"].shape == (5, 3, 3)
        assert out["train_loss"].shape == out["test_loss"].shape == (5,)
        assert np.isinf(out["t"][-1])
        with np.load(files / "train.npz") as train:  # 2 n k / lambda_max of the independent NTK
            ntk = kernels(SPEC, train["x"])[1]
        assert float(out["max_learning_rate"]) == pytest.approx(2 * 8 / np.linalg.eigvalsh(ntk)[-1], rel=1e-9)
        assert out["train_loss"][-1] < 1e-12
    assert (files / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_discrete_steps_above_the_maximal_rate_warn_on_stderr(files):
    result = _invoke(files, "--steps", "--learning-rate", "1000", t="0,1,10")  # diverging, still finite
    assert result.exit_code == 0, result.output
    assert "warning: learning rate 1000 is at or above the maximal stable rate" in result.stderr
    with np.load(files / "pred.npz") as out:
        assert out["train_loss"][-1] > 1e6 * out["train_loss"][0]


def test_predictions_that_overflow_are_an_error_not_a_file_of_infinities(files):
    result = _invoke(files, "--steps", "--learning-rate", "1000", t="0,1,10,1000")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "the predictions overflowed" in lines[0] and "smaller --learning-rate" in lines[0]
    assert not (files / "pred.npz").exists()


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [({"train": {"x": np.ones((8, 4))}}, {}, "--train: .* has no array `y`"),
     ({"train": {"x": np.ones((8, 4)), "y": np.ones((5, 1))}}, {}, "y has shape \\(5, 1\\) but x holds 8"),
     ({"test": {"x": np.full((3, 4), np.nan)}}, {}, "must hold finite numbers"),
     ({"test": {"x": np.ones((3, 5))}}, {}, "different example shapes"),
     ({}, {"t": "0,soon"}, "--t: 'soon' is not a number"),
     ({}, {"t": "0,-1"}, "--t: '-1' is not a time >= 0"),
     ({}, {"kernel": "gp"}, "--kernel must be ntk, nngp, both or ntkgp"),
     ({}, {"steps": "0,0.5"}, "must be whole numbers")],
)
def test_bad_inputs_exit_2_with_one_line(files, setup, extra, message):
    for name, arrays in setup.items():
        np.savez(files / f"{name}.npz", **arrays)
    options = []
    if "kernel" in extra:
        options += ["--kernel", extra["kernel"]]
    if "steps" in extra:
        options += ["--steps"]
    t = extra.get("t", extra.get("steps", "0,1,inf"))
    result = _invoke(files, *options, t=t)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]


def test_no_cov_writes_means_and_losses_only(files):
    result = _invoke(files, "--no-cov")
    assert result.exit_code == 0, result.output
    with np.load(files / "pred.npz") as out:
        assert sorted(out.files) == ["max_learning_rate", "mean", "t", "test_loss", "train_loss"]
        assert out["mean"].shape == (5, 3, 1)
    assert "no covariance" in result.stdout


@pytest.mark.slow  # three CLI runs, about 30 s on 2 cores; both kernels against single calls: test_dynamics_paths.py
def test_kernel_both_writes_each_kernel_under_its_prefix(files):
    result = _invoke(files, "--kernel", "both", "--plot", str(files / "both.png"))
    assert result.exit_code == 0, result.output
    with np.load(files / "pred.npz") as out:
        keys = {f"{g}_{k}" for g in ("ntk", "nngp") for k in ("mean", "cov", "train_loss", "test_loss",
                                                               "max_learning_rate")}
        assert set(out.files) == keys | {"t"}
        both = {key: out[key] for key in out.files}
    for kernel in ("ntk", "nngp"):
        assert _invoke(files, "--kernel", kernel).exit_code == 0
        with np.load(files / "pred.npz") as single:
            for key in ("mean", "cov", "train_loss", "test_loss", "max_learning_rate"):
                np.testing.assert_allclose(both[f"{kernel}_{key}"], single[key], rtol=1e-13, atol=1e-300)
    assert (files / "both.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kernel_both_with_no_cov_leaves_out_both_covariances(files):
    result = _invoke(files, "--kernel", "both", "--no-cov", t="inf")
    assert result.exit_code == 0, result.output
    with np.load(files / "pred.npz") as out:
        assert "ntk_cov" not in out.files and "nngp_cov" not in out.files
        assert out["ntk_mean"].shape == out["nngp_mean"].shape == (1, 3, 1)


@pytest.mark.parametrize(("extra", "message"), [(["--kernel", "Both"], "--kernel must be ntk, nngp, both or ntkgp, got 'Both'"),
                                                (["--no-cov=yes"], "--no-cov")])
def test_bad_new_options_exit_2_with_one_line(files, extra, message):
    result = _invoke(files, *extra)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (files / "pred.npz").exists()


CE_SPEC = SPEC.replace("  - dense: {w_std: 1.0}\n", "  - dense: {width: 3, w_std: 1.0}\n")


@pytest.fixture
def ce_files(files):
    rng = np.random.default_rng(5)
    (files / "spec.yaml").write_text(CE_SPEC)
    np.savez(files / "labels.npz", x=rng.normal(size=(8, 4)), y=rng.integers(0, 3, size=8))
    np.savez(files / "labels_test.npz", x=rng.normal(size=(3, 4)), y=rng.integers(0, 3, size=3))
    return files


def test_cross_entropy_with_momentum_matches_training_with_the_independent_ntk(ce_files):
    from ntksym.dynamics import train_from_kernels

    result = _invoke(ce_files, "--loss", "cross_entropy", "--momentum", "0.9", "--learning-rate", "0.5",
                     train="labels.npz", test="labels_test.npz", t="0,1,10")
    assert result.exit_code == 0, result.output
    with np.load(ce_files / "labels.npz") as train, np.load(ce_files / "labels_test.npz") as test:
        x, y, xt = train["x"], train["y"], test["x"]
    ntk_dd = kernels(CE_SPEC, x)[1]
    ntk_td = kernels(CE_SPEC, xt, x)[1]
    want = train_from_kernels(ntk_dd, ntk_td, y, [0, 1, 10], loss="cross_entropy", momentum=0.9, learning_rate=0.5)
    with np.load(ce_files / "pred.npz") as out:
        assert out["mean"].shape == (3, 3, 3) and out["train_mean"].shape == (3, 8, 3)
        np.testing.assert_allclose(out["mean"], want.test, rtol=0, atol=1e-9)
        assert out["train_loss"][-1] < out["train_loss"][0] and "test_loss" in out


@pytest.mark.parametrize(("extra", "t", "message"), [
    (("--loss", "hinge"), "1", "--loss must be one of mse, cross_entropy"),
    (("--loss", "cross_entropy"), "1,inf", "--t: inf needs --loss mse without --momentum"),
    (("--momentum", "1.5"), "1", r"--momentum must be in \[0, 1\)"),
    (("--loss", "cross_entropy", "--kernel", "nngp"), "1", "trains with the NTK: drop --kernel nngp"),
    (("--momentum", "0.5", "--diag-reg", "0.1"), "1", "--diag-reg applies to --loss mse"),
    (("--width", "8"), "1", "--width sets the hidden width of the --ntk empirical network"),
    (("--kernel", "ntkgp"), "1,inf", "t = inf only"),
    (("--ntk", "finite"), "1", "--ntk must be infinite or empirical"),
])
def test_bad_loss_and_momentum_combinations_exit_2_with_one_line(ce_files, extra, t, message):
    result = _invoke(ce_files, *extra, train="labels.npz", test="labels_test.npz", t=t)
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output


def test_ntkgp_kernel_writes_the_posterior(files):
    result = _invoke(files, "--kernel", "ntkgp", "--diag-reg", "1e-4", t="inf")
    assert result.exit_code == 0, result.output
    with np.load(files / "pred.npz") as out:
        assert out["mean"].shape == (1, 3, 1) and out["cov"].shape == (1, 3, 3)
        assert np.all(np.linalg.eigvalsh(out["cov"][0]) > -1e-10)
