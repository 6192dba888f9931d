"""Tiles sharded over 8 simulated CPU devices give the single-device kernel (run in a subprocess, since the
device count is fixed when JAX starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

SCRIPT = textwrap.dedent('''
    import json, sys
    import jax
    import numpy as np
    import ntksym
    from ntksym.runtime.tiling.sharding import sharded_function

    text = """ntksym: 1
    name: relu-sharding
    layers:
      - repeat: 3
        layers:
          - dense: {w_std: 1.4142135623730951, b_std: 0.1}
          - activation: relu
      - dense: {w_std: 1.0, b_std: 0.0}
    """
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(45, 6)), rng.normal(size=(29, 6))
    one = jax.devices()[:1]
    errors = {}

    def rel(a, b):
        return max(float(np.abs(a.nngp - b.nngp).max() / np.abs(b.nngp).max()),
                   float(np.abs(a.ntk - b.ntk).max() / np.abs(b.ntk).max()))

    full = sys.argv[1] == "full"  # else one dtype, the cross kernel, sharded against untiled only
    for dtype in ("float32", "float64") if full else ("float64",):
        model = ntksym.compile(ntksym.parse_spec(text), dtype=dtype)
        for label, second in (("symmetric", None), ("cross", x2)) if full else (("cross", x2),):
            untiled = model.kernel(x1, second, devices=one)
            sharded = model.kernel(x1, second, tile_size=8)  # all 8 devices
            errors[dtype, label] = {"sharded_vs_untiled": rel(sharded, untiled)}
            if full:
                tiled = model.kernel(x1, second, devices=one, tile_size=8)
                automatic = model.kernel(x1, second)  # several devices: tiled and sharded without being asked
                errors[dtype, label].update({"tiled": rel(tiled, untiled), "sharded_vs_tiled": rel(sharded, tiled),
                                             "automatic": rel(automatic, untiled)})
    errors = {f"{dtype} {label}": value for (dtype, label), value in errors.items()}
    cross = sharded_function(lambda a, b: model.module.kernel_with_diagonals(a, b), jax.devices())
    stacked = np.stack([x1[:8]] * 8)
    placed = {str(s.device) for s in cross(stacked, stacked)[0].addressable_shards}
    print(json.dumps({"devices": jax.device_count(), "placed_on": len(placed), "errors": errors}))
''')


TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def _run(mode: str) -> dict:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8 and report["placed_on"] == 8
    for label, errors in report["errors"].items():
        for name, error in errors.items():
            assert error <= TOLERANCE[label.split()[0]], (label, name, error)
    return report


def test_sharded_over_8_devices_equals_untiled():
    report = _run("quick")
    assert list(report["errors"]) == ["float64 cross"]


@pytest.mark.slow  # about 20 s on 2 cores: two dtypes, four ways, symmetric and cross
def test_sharded_over_8_devices_equals_tiled_and_untiled():
    report = _run("full")
    assert len(report["errors"]) == 4 and all(len(e) == 4 for e in report["errors"].values())


NEW_LAYERS_SCRIPT = textwrap.dedent('''
    import json
    import jax
    import numpy as np
    import ntksym

    errors = {}
    for path in ("specs/transformer_block.yaml", "specs/generator_convtranspose.yaml"):
        spec = ntksym.load_spec(path)
        rng = np.random.default_rng(0)
        x1, x2 = rng.normal(size=(13, *spec.input_shape)), rng.normal(size=(9, *spec.input_shape))
        model = ntksym.compile(spec, dtype="float64")
        one = jax.devices()[:1]
        for label, second in (("symmetric", None), ("cross", x2)):
            a, b = model.kernel(x1, second, tile_size=4), model.kernel(x1, second, devices=one)
            errors[f"{path} {label}"] = max(float(np.abs(a.nngp - b.nngp).max() / np.abs(b.nngp).max()),
                                            float(np.abs(a.ntk - b.ntk).max() / np.abs(b.ntk).max()))
    print(json.dumps({"devices": jax.device_count(), "errors": errors}))
''')


@pytest.mark.slow  # about 30 s: attention, layer norm and transposed convolutions, sharded over 4 devices
def test_transformer_and_generator_kernels_sharded_equal_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", NEW_LAYERS_SCRIPT], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 4 and len(report["errors"]) == 4
    assert all(error <= 1e-12 for error in report["errors"].values()), report
