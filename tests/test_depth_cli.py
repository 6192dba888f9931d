"""`ntksym phase` and the depth section of `ntksym derive`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ntksym.cli.main import app
from tests.conftest import ROOT

SPEC = str(ROOT / "specs" / "tanh_edge_of_chaos.yaml")


def _run(*args):
    return CliRunner().invoke(app, list(args))


def test_derive_json_has_fixed_point_and_edge_of_chaos():
    result = _run("derive", SPEC, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    fp = data["fixed_point"]
    assert {"q_star", "chi_1", "c_star", "chi_c", "xi_q", "xi_c", "phase"} <= set(fp)
    assert fp["phase"] == "ordered" and abs(fp["chi_1"] - 1) < 1e-3
    assert data["edge_of_chaos"]["w_std"] ** 2 == pytest.approx(1.76095, abs=1e-5)


def test_derive_text_shows_the_depth_analysis():
    result = _run("derive", SPEC)
    assert result.exit_code == 0
    assert "chi_1        = 0.999796" in result.output and "edge of chaos at b_std = 0.223607" in result.output


def test_phase_writes_png_and_grid(tmp_path):
    out = tmp_path / "phase.png"
    result = _run("phase", SPEC, "--w-std", "0.5:3:6", "--b-std", "0:1:5", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "phase.npz") as grid:
        assert grid["chi_1"].shape == (5, 6) and grid["critical_w_std"].shape == (5,)
        assert np.all(grid["chi_1"][:, 0] < 1) and np.all(grid["chi_1"][:, -1] > 1)


@pytest.mark.parametrize(
    "value,message",
    [
        ("0.5:3", "expected START:STOP:COUNT"),
        ("a:3:6", "START and STOP must be numbers"),
        ("3:0.5:6", "STOP must be greater than START"),
        ("0.5:3:1", "COUNT must be between 2"),
    ],
)
def test_phase_refuses_bad_ranges_with_exit_2(tmp_path, value, message):
    result = _run("phase", SPEC, "--w-std", value, "-o", str(tmp_path / "p.png"))
    assert result.exit_code == 2
    assert message in result.output


def test_phase_of_a_layer_norm_block(tmp_path):
    out = tmp_path / "phase_ln.png"
    spec = str(ROOT / "specs" / "tanh_layernorm_depth.yaml")
    result = _run("phase", spec, "--w-std", "0.5:2.5:5", "--b-std", "0:1:4", "-o", str(out))
    assert result.exit_code == 0, result.output
    grid = np.load(out.with_suffix(".npz"))
    chi = grid["chi_1"]
    assert np.isfinite(chi).all() and np.all(np.diff(chi, axis=1) > 0)  # layer norm: q* = w^2 + b^2 always
    assert np.all(np.diff(chi, axis=0) < 0)  # bias variance: towards order
    assert np.isfinite(grid["critical_w_std"][1:]).all()
