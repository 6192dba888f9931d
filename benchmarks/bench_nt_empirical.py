"""Empirical NTK in neural-tangents 0.6.5: 3-layer width-1024 ReLU MLP, 256 inputs, float32, CPU.

Times neural-tangents' two implementations (Jacobian contraction and NTK-vector products) in its own
environment (benchmarks/nt_env.py); the ntksym fast path is compared against these numbers by the
empirical-NTK benchmark. Compile and run are reported separately (run: best of 3).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N, DIM, WIDTH = 256, 64, 1024

CODE = """
import json, time, numpy as np, jax
import neural_tangents as nt
from neural_tangents import stax
init_fn, apply_fn, _ = stax.serial(stax.Dense({width}), stax.Relu(), stax.Dense({width}), stax.Relu(),
                                   stax.Dense(1))
x = jax.numpy.asarray(np.random.default_rng(0).normal(size=({n}, {dim})).astype(np.float32))
_, params = init_fn(jax.random.PRNGKey(0), x.shape)
out = {{}}
for name, impl in (("jacobian_contraction", nt.NtkImplementation.JACOBIAN_CONTRACTION),
                   ("ntk_vector_products", nt.NtkImplementation.NTK_VECTOR_PRODUCTS)):
    fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), implementation=impl))
    start = time.perf_counter()
    compiled = fn.lower(x, None, params).compile()
    compile_time = time.perf_counter() - start
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        k = jax.block_until_ready(compiled(x, None, params))
        runs.append(time.perf_counter() - start)
    out[name] = {{"compile": compile_time, "run": min(runs), "shape": list(k.shape),
                 "trace": float(np.trace(np.asarray(k)))}}
print(json.dumps(out))
"""


def nt_empirical_times() -> dict:
    from nt_env import run_in_nt_env

    return run_in_nt_env(CODE.format(n=N, dim=DIM, width=WIDTH))


def main() -> None:
    print(
        f"# empirical NTK, neural-tangents 0.6.5: 3-layer width-{WIDTH} ReLU MLP, {N} inputs of dim {DIM}, "
        "float32, CPU"
    )
    for name, row in nt_empirical_times().items():
        print(
            f"  {name:<22} compile {row['compile']:6.2f} s   run {row['run']:7.3f} s   "
            f"(kernel {tuple(row['shape'])}, trace {row['trace']:.4g})"
        )


if __name__ == "__main__":
    main()
