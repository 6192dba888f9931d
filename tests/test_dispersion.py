"""NTK dispersion at initialisation (ntksym/runtime/dispersion.py, `ntksym dispersion`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.runtime.dispersion import dispersion, hidden_layers, ntk_dispersion
from ntksym.runtime.network import network

SPEC = Path(__file__).parent.parent / "specs" / "relu_depth.yaml"


def test_dispersion_of_known_distributions():
    rng = np.random.default_rng(0)
    constant = np.broadcast_to(np.array([[2.0, 0.5], [0.5, 3.0]]), (50, 2, 2))
    assert dispersion(constant)[:2] == pytest.approx((1.0, 1.0), rel=1e-14)
    # log-normal entries: E[T^2] / E[T]^2 = exp(sigma^2)
    samples = np.exp(0.5 * rng.standard_normal((400_000, 2, 2)))
    diagonal, off, mean_diagonal = dispersion(samples)
    assert diagonal == pytest.approx(np.exp(0.25), rel=5e-3) and off == pytest.approx(np.exp(0.25), rel=5e-3)
    assert mean_diagonal == pytest.approx(np.exp(0.125), rel=5e-3)


def test_hidden_layers_count_repeats_and_leave_out_the_output():
    spec = ntksym.load_spec(SPEC)
    assert hidden_layers(network(spec, {"depth": 7.0}).records) == 7


@pytest.mark.slow  # 8 s: widths x depths of networks; the CLI test below runs the same code by default
def test_dispersion_falls_with_width_and_grows_with_depth():
    spec = ntksym.load_spec(SPEC)
    x = np.random.default_rng(1).standard_normal((2, 8))
    report = ntk_dispersion(spec, x, widths=[16, 128], depths=[2, 8], seeds=150, key=3)
    value = {(p.depth, p.width): p.diagonal for p in report.points}
    assert [p.beta for p in report.points] == pytest.approx([2 / 16, 2 / 128, 8 / 16, 8 / 128])
    assert value[2, 128] < value[2, 16] and value[8, 128] < value[8, 16]  # wider: less random
    assert value[8, 16] > value[2, 16]  # deeper: more random
    assert 1.0 < value[2, 128] < 1.15  # near the infinite-width limit (exactly 1)
    slope, _, r2 = report.fit()
    assert slope > 0 and r2 > 0.8


def test_cli_writes_points_and_fit(tmp_path):
    out, plot = tmp_path / "d.json", tmp_path / "d.png"
    result = CliRunner().invoke(app, ["dispersion", str(SPEC), "--widths", "16,32", "--depths", "1,3",
                                      "--seeds", "40", "--n", "1", "-o", str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert len(doc["points"]) == 4 and doc["points"][0]["off_diagonal"] is None  # one input: no pairs
    assert doc["fit_diagonal"]["hanin_nica_slope"] == 5.0 and plot.stat().st_size > 10_000
    assert "Hanin & Nica" in result.output


@pytest.mark.parametrize("args,error", [
    (["--depths", "1,2", "--depth-name", "layers"], "hyperparameter named `layers`"),
    (["--seeds", "1"], "--seeds"),
    (["--widths", "0"], "--widths"),
    (["--depths", "a"], "--depths"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, error):
    out = tmp_path / "d.json"
    result = CliRunner().invoke(app, ["dispersion", str(SPEC), "-o", str(out), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and error in lines[0]
    assert not out.exists()
