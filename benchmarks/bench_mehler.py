"""The Mehler series against the 2-D quadrature it replaces, on a depth-3 tanh MLP at the edge of chaos.

    python benchmarks/bench_mehler.py [--before] N [N ...]

Inputs: N x 64 standard normal features (like standardised sklearn digits), float64. Prints the first
call (tracing, compilation and the run) and the best later call for the tanh MLP, and for the same MLP
with erf (closed form). `--before` builds the modules with the quadrature only (the prelude as it was
before the Mehler series: `_expect_pair` is the 2-D rule), and `--error` compares the two on the first
100 inputs. Results: docs/quadrature.md.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import ntksym  # noqa: E402
from ntksym.codegen import emit  # noqa: E402

SPEC = """ntksym: 1
name: bench-{act}-depth-3{variant}
input_shape: [64]
layers:
  - repeat: 3
    layers:
      - dense: {{w_std: 1.3266499161421599, b_std: 0.22360679774997896}}
      - activation: {act}
  - dense: {{width: 1, w_std: 1.0, b_std: 0.0}}
"""
QUADRATURE_ONLY = ("\n\ndef _expect_pair(f, g, q11, q12, q22):\n    return _expect_pair_quadrature(f, g, q11, q12, q22)\n"
                   "\n\ndef _expect_pairs(pairs, q11, q12, q22):\n    return _expect_pairs_quadrature(pairs, q11, q12, q22)\n")


def model(act: str, quadrature_only: bool = False):
    original = emit.prelude_source
    if quadrature_only:  # the module as before: no Mehler prelude, `_expect_pair` is the quadrature
        def patched(name):
            return QUADRATURE_ONLY if name == "mehler" else original(name)
        emit.prelude_source = patched
    try:
        # another name, so another cache entry (the cache key does not see a patched prelude)
        text = SPEC.format(act=act, variant="-quadrature-only" if quadrature_only else "")
        return ntksym.compile(ntksym.parse_spec(text), dtype="float64")
    finally:
        emit.prelude_source = original


def timed(fn, repeats: int = 2) -> tuple[float, float]:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return first, best


def main(argv: list[str]) -> None:
    before, error = "--before" in argv, "--error" in argv
    sizes = [int(a) for a in argv if not a.startswith("--")]
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.normal(size=(n, 64))
        for act in ("tanh", "erf"):
            m = model(act, quadrature_only=before and act == "tanh")
            first, best = timed(lambda m=m, x=x: m.kernel(x).ntk, repeats=1 if before else 2)
            label = "quadrature" if before and act == "tanh" else "current"
            print(f"{act:4s} {label:10s} {n:5d} inputs: first {first:7.2f} s, then {best:7.2f} s", flush=True)
        if error:
            sub = x[:100]
            new, old = model("tanh").kernel(sub), model("tanh", quadrature_only=True).kernel(sub)
            for name in ("nngp", "ntk"):
                a, b = np.asarray(getattr(new, name)), np.asarray(getattr(old, name))
                print(f"  {name}: max |new - old| / |old| = {np.max(np.abs(a - b) / np.abs(b)):.1e}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
