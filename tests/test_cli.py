"""The command line through Typer's CliRunner: results, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reference_kernels import kernels
from typer.testing import CliRunner

from ntksym.cli.main import app

SPECS = Path(__file__).parent.parent / "specs"
RELU = str(SPECS / "relu_mlp.yaml")
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_bad_input(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x1.npy", rng.normal(size=(4, 8)))
    np.save(tmp_path / "x2.npy", rng.normal(size=(3, 8)))
    return tmp_path


def test_version_and_help():
    assert invoke("--version").stdout.strip().startswith("ntksym ")
    for command in ("validate", "derive", "compile", "kernel", "schema"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout


def test_validate_prints_a_summary():
    result = invoke("validate", RELU)
    assert result.exit_code == 0
    assert "valid spec `relu-mlp`" in result.stdout and "5 x [dense(512), relu]" in result.stdout


@pytest.mark.parametrize("fmt, marker", [("text", "arc-cosine kernel"), ("latex", r"\begin{align*}"), ("json", '"steps"')])
def test_derive_formats(fmt, marker):
    result = invoke("derive", RELU, "--format", fmt)
    assert result.exit_code == 0 and marker in result.stdout
    if fmt == "json":
        steps = json.loads(result.stdout)["steps"]
        assert steps[0]["kind"] == "repeat" and steps[0]["body"][1]["method"] == "closed form"


def test_compile_writes_a_module(tmp_path):
    out = tmp_path / "relu_kernel.py"
    result = invoke("compile", RELU, "-o", out)
    assert result.exit_code == 0
    assert "def kernel(x1, x2=None, *, sigma_w=1.4142135623730951, sigma_b=0.0)" in out.read_text()


def test_kernel_writes_nngp_and_ntk(data):
    out = data / "k.npz"
    result = invoke("kernel", RELU, "--x1", data / "x1.npy", "--x2", data / "x2.npy", "-o", out, "--x64")
    assert result.exit_code == 0, result.output
    want = kernels(Path(RELU).read_text(), np.load(data / "x1.npy"), np.load(data / "x2.npy"))
    with np.load(out) as k:
        assert k["nngp"].shape == k["ntk"].shape == (4, 3) and k["ntk"].dtype == np.float64
        for name, reference in zip(("nngp", "ntk"), want, strict=True):  # tests/reference_kernels.py
            np.testing.assert_allclose(k[name], reference, rtol=1e-12, err_msg=name)


def test_kernel_of_x1_with_itself_is_symmetric(data):
    out = data / "k.npz"
    assert invoke("kernel", RELU, "--x1", data / "x1.npy", "-o", out).exit_code == 0
    want = kernels(Path(RELU).read_text(), np.load(data / "x1.npy"))
    with np.load(out) as k:
        assert k["ntk"].dtype == np.float32
        np.testing.assert_array_equal(k["ntk"], k["ntk"].T)
        for name, reference in zip(("nngp", "ntk"), want, strict=True):  # float32 by default
            np.testing.assert_allclose(k[name], reference, rtol=2e-5, err_msg=name)


def test_schema_is_json_schema():
    schema = json.loads(invoke("schema").stdout)
    assert schema["properties"]["ntksym"] == {"const": 1} and "layers" in schema["$defs"]


def _spec_file(tmp_path, text: str) -> Path:
    path = tmp_path / f"bad{abs(hash(text))}.yaml"
    path.write_text(text)
    return path


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(data):
    out = data / "k.npz"
    x1 = data / "x1.npy"
    cases = [
        (("validate", data / "missing.yaml"), "spec file not found"),
        (("validate", _spec_file(data, "ntksym: 1\nname: [\n")), "malformed YAML"),
        (("validate", _spec_file(data, "ntksym: 1\nname: x\nlayers: [{dens: {}}]\n")), "unknown layer `dens`. Did you mean `dense`?"),
        (("derive", _spec_file(data, "ntksym: 1\nname: x\nlayers: [{activation: tanhh}]\n")), "unknown activation `tanhh`. Did you mean `tanh`?"),
        (("kernel", RELU, "--x1", data / "nope.npy", "-o", out), "--x1: file not found"),
        (("kernel", RELU, "--x1", x1, "-o", data / "no" / "dir" / "k.npz"), "does not exist"),
        (("kernel", RELU, "-o", out), "missing --x1: give SPEC --x1 X -o OUT"),
        (("kernel", RELU, "--x1", x1, "-o", out, "--bogus"), "No such option: --bogus"),
        (("derive", RELU, "--format", "yaml"), "Invalid value for '--format'"),
    ]
    for args, message in cases:
        assert_bad_input(invoke(*args), message)
    assert not out.exists()


def test_bad_data_exit_2(data):
    out = data / "k.npz"
    np.save(data / "nan.npy", np.array([[np.nan] * 8, [0.0] * 8]))
    np.save(data / "wide.npy", np.zeros((3, 9)))
    np.save(data / "flat.npy", np.zeros(8))
    np.save(data / "text.npy", np.array([["a"] * 8]))
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "nan.npy", "-o", out), "contains 8 NaN or infinite values")
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "wide.npy", "-o", out), "the spec's input_shape is [8]")
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "flat.npy", "-o", out), "expected an array of shape (examples, features)")
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "text.npy", "-o", out), "expected numbers")
    (data / "junk.npy").write_text("not numpy")
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "junk.npy", "-o", out), "cannot read")
    assert not out.exists()


def test_unwritable_output_path(data):
    assert_bad_input(invoke("kernel", RELU, "--x1", data / "x1.npy", "-o", data), "is a directory")
