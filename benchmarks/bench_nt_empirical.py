"""Empirical NTK, ntksym vs neural-tangents 0.6.5, in one run: 3-layer width-1024 ReLU MLP, 256 inputs, float32, CPU.

Times neural-tangents' two implementations (Jacobian contraction and NTK-vector products) in its own
environment (benchmarks/nt_env.py), then ntksym's layer-factorised fast path and its generic Jacobian path
on the same architecture and input size, and prints the ratios. Compile and run are reported separately.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

N, DIM, WIDTH = 256, 32, 1024

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
    import numpy as np
    from bench_empirical import best_of, empirical_ntk_functions

    print(f"# empirical NTK: 3-layer width-{WIDTH} ReLU MLP, {N} inputs of dim {DIM}, float32, CPU (one run)")
    nt = nt_empirical_times()
    for name, row in nt.items():
        print(f"  neural-tangents {name:<22} compile {row['compile']:6.2f} s   run {row['run']:8.3f} s")
    import jax

    jax.config.update("jax_enable_x64", False)
    fast, generic, params, x = empirical_ntk_functions(n=N, width=WIDTH)
    assert x.shape == (N, DIM)
    t_fast, k_fast = best_of(fast, params, x, repeats=5)
    t_generic, k_generic = best_of(generic, params, x, repeats=1)
    diff = float(np.abs(np.asarray(k_fast, np.float64) - np.asarray(k_generic, np.float64)).max() / np.abs(k_generic).max())
    best_nt = min(row["run"] for row in nt.values())
    print(f"  ntksym fast path (layer-factorised)      run {t_fast:8.4f} s")
    print(f"  ntksym generic path (Jacobian)           run {t_generic:8.3f} s")
    print(f"  ratio: neural-tangents' best / ntksym fast = {best_nt / t_fast:.0f}x;  generic / fast = {t_generic / t_fast:.0f}x")
    print(f"  max |fast - generic| / max |generic| = {diff:.1e} (float32)")


if __name__ == "__main__":
    main()


MATRIX_TOPIC = "empirical NTK, ReLU MLP"  # the benchmark matrix runs this file when its row filter admits this


def matrix_rows(quick: bool) -> list[dict]:
    """The benchmark matrix's row: ntksym's fast path against neural-tangents' fastest implementation;
    'error' is the largest difference from ntksym's generic Jacobian path (float32)."""
    import jax
    import numpy as np
    from bench_empirical import best_of, empirical_ntk_functions

    nt = nt_empirical_times()
    jax.config.update("jax_enable_x64", False)
    fast, generic, params, x = empirical_ntk_functions(n=N, width=WIDTH)
    start = time.perf_counter()
    fast(params, x)
    first = time.perf_counter() - start
    t_fast, k_fast = best_of(fast, params, x, repeats=5)
    _, k_generic = best_of(generic, params, x, repeats=1)
    diff = float(np.abs(np.asarray(k_fast, np.float64) - np.asarray(k_generic, np.float64)).max()
                 / np.abs(k_generic).max())
    best = min(nt, key=lambda name: nt[name]["run"])
    return [{"workload": f"empirical NTK, ReLU MLP 3 x {WIDTH}, {N} inputs, float32 (nt: {best})",
             "ntksym": {"first": first, "steady": t_fast, "error": diff},
             "neural_tangents": {"first": nt[best]["compile"] + nt[best]["run"], "steady": nt[best]["run"]}}]
