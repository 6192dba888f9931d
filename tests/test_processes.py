"""Several processes filling one kernel folder, and a run killed midway then resumed (runtime/tiling/resumable.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app

SPEC = str(Path(__file__).parent.parent / "specs" / "relu_mlp.yaml")
CLI = [sys.executable, "-m", "ntksym", "kernel", SPEC]


def _data(tmp_path, n=300, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, 8))
    np.save(tmp_path / "x.npy", x)
    return x


@pytest.mark.parametrize("dtype,rtol", [("float64", 0.0), pytest.param("float32", 1e-6, marks=pytest.mark.slow)])  # one launch: 9 s
def test_two_processes_give_the_single_process_kernel(tmp_path, dtype, rtol):
    x = _data(tmp_path)
    out = tmp_path / "k"
    args = ["--x1", str(tmp_path / "x.npy"), "--memmap", "-o", str(out), "--tile-size", "48", "--num-processes", "2"]
    args += ["--x64"] if dtype == "float64" else []
    start = time.perf_counter()
    workers = [subprocess.Popen([*CLI, *args, "--process-id", str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for i in range(2)]
    for worker in workers:
        assert worker.wait(timeout=240) == 0, worker.stderr.read().decode()
    seconds = time.perf_counter() - start
    want = ntksym.compile(ntksym.load_spec(SPEC), dtype=dtype).kernel(x, tile_size=48)
    for name in ("nngp", "ntk"):
        got = np.load(out / f"{name}.npy")
        np.testing.assert_allclose(got, getattr(want, name), rtol=rtol, atol=0)
    assert len(list((out / "tiles").glob("*.done"))) == json.loads((out / "manifest.json").read_text())["tiles"]
    print(f"two processes, {dtype}: {seconds:.1f} s")


def test_a_killed_run_resumes_to_the_uninterrupted_kernel(tmp_path):
    x = _data(tmp_path, n=288)  # 78 tiles: the resumed run has enough left to do, and not too much
    out = tmp_path / "k"
    args = [*CLI, "--x1", str(tmp_path / "x.npy"), "--memmap", "-o", str(out), "--tile-size", "24", "--x64", "--resume"]
    worker = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list((out / "tiles").glob("*.done"))) < 3 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    status = CliRunner().invoke(app, ["kernel", "--status", str(out)])
    assert status.exit_code == 0 and "incomplete" in status.output, status.output
    done = len(list((out / "tiles").glob("*.done")))
    total = json.loads((out / "manifest.json").read_text())["tiles"]
    assert 3 <= done < total
    finished = subprocess.run(args, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr
    want = ntksym.compile(ntksym.load_spec(SPEC), dtype="float64").kernel(x, tile_size=24)
    np.testing.assert_array_equal(np.load(out / "ntk.npy"), want.ntk)
    np.testing.assert_array_equal(np.load(out / "nngp.npy"), want.nngp)


def test_a_folder_of_another_job_status_without_a_job_and_resume_without_memmap_exit_2(tmp_path):
    _data(tmp_path, n=40)
    out = tmp_path / "k"
    runner = CliRunner()
    base = ["kernel", SPEC, "--x1", str(tmp_path / "x.npy"), "-o", str(out)]
    assert runner.invoke(app, [*base, "--memmap", "--resume", "--tile-size", "16"]).exit_code == 0
    np.save(tmp_path / "x.npy", np.ones((40, 8)))  # other inputs into the same folder
    for args, error in (([*base, "--memmap", "--resume"], "other inputs"),
                        (["kernel", "--status", str(tmp_path)], "no resumable kernel job"),
                        ([*base, "--resume"], "add --memmap"),
                        ([*base, "--memmap", "--num-processes", "2", "--process-id", "2"], "--process-id must be in 0 .. 1"),
                        (["kernel", SPEC], "missing --x1, -o")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and error in lines[0], lines
