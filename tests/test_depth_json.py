"""`ntksym derive --format json`: every depth-analysis number is a JSON number or null exactly where its
schema (`ntksym schema --derive`) says so, and the Python values are floats (inf / nan), never None."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.reports.schema import derivation_json_schema
from tests.conftest import ROOT, spec_text

jsonschema = pytest.importorskip("jsonschema")

NUMBERS = ("q_star", "chi_1", "c_star", "chi_c", "chi_q", "xi_q", "xi_c", "w_std", "b_std", "q_growth", "q_step",
           "c_exponent")
GROWTH = {"q_growth": "nan", "q_step": "nan", "c_exponent": "nan"}  # a finite q*: q does not grow; approach exponential


def _spec(tmp_path, activation: str, w: float, b: float) -> str:
    layers = (
        "  - repeat: 6\n    layers:\n      - dense: {width: 512, w_std: sigma_w, b_std: sigma_b}\n"
        f"      - activation: {activation}\n  - dense: {{width: 1, w_std: 1.0, b_std: 0.0}}\n"
    )
    path = tmp_path / f"{activation}.yaml"
    path.write_text(spec_text(layers, name=activation, extra=f"hyperparameters: {{sigma_w: {w!r}, sigma_b: {b!r}}}\n"))
    return str(path)


def _derive_json(path: str) -> dict:
    result = CliRunner().invoke(app, ["derive", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    for bad in ("NaN", "Infinity"):  # standard JSON only
        assert bad not in result.output
    data = json.loads(result.output)
    jsonschema.Draft202012Validator(derivation_json_schema()).validate(data)
    return data


def _python(path: str):
    fp = ntksym.derive(ntksym.load_spec(path)).fixed_points()
    for name in NUMBERS:
        assert isinstance(getattr(fp, name), float), name
    for name in ("off_diagonal_limit", "rate", "depth_scale", "approach_exponent", "approach_constant"):
        assert isinstance(getattr(fp.ntk, name), float), name
    return fp


def _same(data: dict, fp) -> None:
    """Each JSON number is the Python float; each null is named in `nonfinite` with the float it stands for."""
    out = data["fixed_point"]
    for name in NUMBERS:
        value = getattr(fp, name)
        if math.isfinite(value):
            assert out[name] == value and name not in out["nonfinite"]
        else:
            assert out[name] is None and out["nonfinite"][name] == str(value)
    assert f"{fp.chi_1:.3f}" and f"{fp.q_star:.3f}" and f"{fp.xi_c:.3f}"  # formatting never fails


def test_schema_is_a_valid_json_schema_and_the_cli_prints_it():
    jsonschema.Draft202012Validator.check_schema(derivation_json_schema())
    result = CliRunner().invoke(app, ["schema", "--derive"])
    assert result.exit_code == 0 and json.loads(result.output) == derivation_json_schema()


def test_relu_without_a_finite_fixed_point(tmp_path):
    path = _spec(tmp_path, "relu", 2.0, 0.5)
    data, fp = _derive_json(path), _python(path)
    out = data["fixed_point"]
    assert fp.phase == out["phase"] == "no finite fixed point"
    assert fp.q_star == math.inf and out["q_star"] is None and out["nonfinite"]["q_star"] == "inf"
    assert fp.chi_1 == out["chi_1"] == pytest.approx(2.0, rel=1e-12)  # w^2 / 2, a real number
    assert fp.chi_q == pytest.approx(2.0, rel=1e-9) and fp.xi_q == math.inf
    assert math.isnan(fp.c_star) and math.isnan(fp.chi_c) and math.isnan(fp.xi_c)
    assert out["nonfinite"] == {"q_star": "inf", "c_star": "nan", "chi_c": "nan", "xi_q": "inf", "xi_c": "nan",
                                "q_step": "inf", "c_exponent": "nan"}
    assert out["q_growth"] == pytest.approx(2.0, rel=1e-9)  # ReLU, w_std 2: q grows by w^2 / 2 per layer
    assert out["ntk"]["regime"] == "undetermined" and out["ntk"]["rate"] is None
    _same(data, fp)
    edge = data["edge_of_chaos"]
    assert edge["w_std"] == pytest.approx(math.sqrt(2), rel=1e-9) and edge["nonfinite"] == {}


def test_tanh_ordered(tmp_path):
    path = _spec(tmp_path, "tanh", 1.0, 0.3)
    data, fp = _derive_json(path), _python(path)
    assert fp.phase == "ordered" and 0 < fp.chi_1 < 1 and 0 < fp.q_star < math.inf
    assert fp.c_star == 1.0 and 0 < fp.xi_c < math.inf and 0 < fp.xi_q < math.inf
    assert data["fixed_point"]["nonfinite"] == GROWTH and data["fixed_point"]["ntk"]["regime"] == "freeze"
    _same(data, fp)


def test_tanh_at_the_edge_of_chaos(tmp_path):
    w = ntksym.derive(ntksym.load_spec(_spec(tmp_path, "tanh", 1.3, 0.3))).edge_of_chaos().w_std
    path = _spec(tmp_path, "tanh", w, 0.3)
    data, fp = _derive_json(path), _python(path)
    assert fp.phase == data["fixed_point"]["phase"] == "edge of chaos"
    assert fp.chi_1 == pytest.approx(1.0, abs=1e-9) and fp.c_star == 1.0 and 0 < fp.q_star < math.inf
    assert data["fixed_point"]["ntk"]["regime"] == "edge of chaos"
    assert data["fixed_point"]["ntk"]["approach_exponent"] == 1.0  # smooth phi: 1 - c_l ~ A / l
    _same(data, fp)


def test_tanh_chaotic(tmp_path):
    path = _spec(tmp_path, "tanh", 2.5, 0.3)
    data, fp = _derive_json(path), _python(path)
    assert fp.phase == "chaotic" and fp.chi_1 > 1 and -1 < fp.c_star < 1 and 0 < fp.xi_c < math.inf
    assert data["fixed_point"]["nonfinite"] == GROWTH and data["fixed_point"]["ntk"]["regime"] == "chaos"
    _same(data, fp)


def test_tanh_without_bias_has_q_star_zero_and_c_star_nan(tmp_path):
    path = _spec(tmp_path, "tanh", 0.8, 0.0)
    data, fp = _derive_json(path), _python(path)
    assert fp.q_star == 0.0 == data["fixed_point"]["q_star"] and math.isnan(fp.c_star)
    assert data["fixed_point"]["nonfinite"]["c_star"] == "nan"
    _same(data, fp)


@pytest.mark.parametrize("name", ["relu_mlp", "relu_mlp_check", "standard_mlp", "erf_mlp", "resnet_mlp", "cnn_flatten"])
def test_bundled_specs_validate(name):
    data = _derive_json(str(ROOT / "specs" / f"{name}.yaml"))
    assert data["fixed_point"].get("applies", True) in (True, False)


def test_relu_at_the_edge_every_q_is_fixed():
    fp = ntksym.derive(ntksym.load_spec(ROOT / "specs" / "relu_mlp.yaml")).fixed_points()
    assert fp.phase == "edge of chaos" and math.isnan(fp.q_star) and fp.xi_c == math.inf
    text = ntksym.derive(ntksym.load_spec(ROOT / "specs" / "relu_mlp.yaml")).text()
    assert "q*           = any (every q is a fixed point)" in text


@pytest.mark.parametrize("name", ["tanh_layernorm_depth", "tanh_resnet_depth", "tanh_conv_depth"])
def test_composed_blocks_validate_and_their_text_has_no_none(name):
    path = str(ROOT / "specs" / f"{name}.yaml")
    data, fp = _derive_json(path), _python(path)
    _same(data, fp)
    assert data["fixed_point"]["state"] and data["fixed_point"]["convergence"]
    text = CliRunner().invoke(app, ["derive", path])
    assert text.exit_code == 0 and "None" not in text.output and "chi_1        = " in text.output
