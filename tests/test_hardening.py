"""Numerical extremes give a clear error instead of NaN; the module cache survives concurrent compiles."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from reference_kernels import kernels
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app

EXPLODING = """
ntksym: 1
name: exploding-relu
hyperparameters: {w: 10.0}
layers:
  - repeat: 1000
    layers: [{dense: {w_std: w}}, {activation: relu}]
  - dense: {}
"""


@pytest.mark.parametrize("dtype, advice", [("float32", "retry with dtype float64"), ("float64", "use a smaller w_std")])
def test_overflow_is_an_error_with_a_remedy_not_a_nan(dtype, advice):
    model = ntksym.compile(ntksym.parse_spec(EXPLODING), dtype=dtype)
    with pytest.raises(ntksym.NumericalError, match=advice):
        model.kernel(np.ones((2, 3)))
    recovered = model.kernel(np.ones((2, 3)), w=1.0)  # the same compiled module at a tame w_std
    assert np.isfinite(recovered.ntk).all() and np.isfinite(recovered.nngp).all()
    if dtype == "float64":  # float32 underflows: 1000 ReLU layers at w_std 1 halve the variance each time
        want = kernels(EXPLODING.replace("{w: 10.0}", "{w: 1.0}"), np.ones((2, 3)))
        np.testing.assert_allclose(recovered.nngp, want[0], rtol=1e-12)  # 2^-1000
        np.testing.assert_allclose(recovered.ntk, want[1], rtol=1e-12)  # 1001 * 2^-1000


def test_overflow_through_the_cli_exits_1_with_one_line(tmp_path):
    (tmp_path / "spec.yaml").write_text(EXPLODING)
    np.save(tmp_path / "x.npy", np.ones((2, 3)))
    result = CliRunner().invoke(app, ["kernel", str(tmp_path / "spec.yaml"), "--x1", str(tmp_path / "x.npy"), "-o", str(tmp_path / "k.npz")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "overflowed or became NaN in float32" in result.stderr
    assert not (tmp_path / "k.npz").exists()


@pytest.mark.slow  # 8 s, two processes; the atomic cache writes are checked in-process by test_codegen.py
def test_two_processes_compiling_the_same_spec_at_once_both_succeed(tmp_path):
    spec = Path(__file__).parent.parent / "specs" / "erf_mlp.yaml"
    script = textwrap.dedent(f"""
        import numpy as np, ntksym
        model = ntksym.compile(ntksym.load_spec({str(spec)!r}), dtype="float64")
        print(float(model.kernel(np.ones((2, 8))).ntk[0, 1]))
    """)
    env = {**os.environ, "NTKSYM_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.endswith(".tmp")] == []
