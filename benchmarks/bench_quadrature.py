"""Timings of the variance-fitted quadrature: the fc-tanh reference cases, a 4-layer tanh MLP on 6x6
inputs, and the raw rule per pair of inputs. Prints times measured in this run (after jit)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import ntksym  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = """ntksym: 1
name: bench-tanh-{depth}
input_shape: [{dim}]
layers:
  - repeat: {depth}
    layers:
      - dense: {{w_std: 1.5, b_std: 0.1}}
      - activation: tanh
  - dense: {{width: 1, w_std: 1.0, b_std: 0.0}}
"""


def timed(fn, repeats: int = 5) -> tuple[float, float]:
    """(first call incl. compile, best of `repeats` later calls) in seconds."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return first, best


def reference_cases() -> None:
    import yaml

    cases = json.loads((ROOT / "tests/data/nt_reference_public.json").read_text())["cases"]
    for case in (c for c in cases if c["id"].startswith("fc-tanh")):
        doc = {"ntksym": 1, "name": case["id"], "parameterization": case["parameterization"],
               "input_shape": case["input_shape"], "layers": case["layers"]}
        model = ntksym.compile(ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)), dtype="float64")
        x1, x2 = np.asarray(case["x1"]), np.asarray(case["x2"])
        first, best = timed(lambda m=model, a=x1, b=x2: m.kernel(a, b).nngp)
        sym_first, sym_best = timed(lambda m=model, a=x1: m.kernel(a).nngp)
        print(f"{case['id']:<12} 6x4: first {first:6.2f} s, then {best * 1e3:7.1f} ms;"
              f" 6x6: first {sym_first:6.2f} s, then {sym_best * 1e3:7.1f} ms")


def mlp(depth: int, n: int, dtype: str) -> None:
    model = ntksym.compile(ntksym.parse_spec(SPEC.format(depth=depth, dim=8)), dtype=dtype)
    x = np.random.default_rng(0).normal(size=(n, 8))
    first, best = timed(lambda: model.kernel(x).nngp, repeats=3)
    print(f"tanh MLP depth {depth:3d}, {n}x{n} inputs, {dtype}: first {first:6.2f} s,"
          f" then {best * 1e3:8.1f} ms")


def main() -> None:
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
    reference_cases()
    for depth, n, dtype in ((4, 6, "float64"), (4, 6, "float32"), (50, 6, "float64"), (4, 32, "float64")):
        mlp(depth, n, dtype)


if __name__ == "__main__":
    main()
