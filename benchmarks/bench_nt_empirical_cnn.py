"""Empirical NTK of a CNN, ntksym vs neural-tangents 0.6.5, in one run: float32, CPU.

Three 3x3 SAME convs (64, 128, 128 channels) with ReLU, global_avg_pool and a dense readout, on 128
digits-sized 8x8x1 inputs (Gaussian pixels). neural-tangents (its own environment, benchmarks/nt_env.py)
computes the kernel of the same weights with each of its implementations (Jacobian contraction,
NTK-vector products, structured derivatives; Novak et al. 2022, "Fast finite width neural tangent
kernel"), both with its default `vmap_axes=None` and with `vmap_axes=0` (per-example Jacobians, valid
here because the network treats examples independently); ntksym uses its layer-factorised path (per-
example weight gradients of every conv, `prelude_network._net_patch_ntk`). Compile and run are timed
separately; the kernels are compared entry by entry.

    python benchmarks/bench_nt_empirical_cnn.py            # 128 inputs, 64-128 channels (minutes)
    python benchmarks/bench_nt_empirical_cnn.py --quick    # 32 inputs, 16-32 channels (seconds)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FULL = {"n": 128, "channels": (64, 128, 128)}
QUICK = {"n": 32, "channels": (16, 32, 32)}
SIZE = 8

SPEC = """\
ntksym: 1
name: bench-cnn3
input_shape: [{size}, {size}, 1]
layers:
  - conv: {{filter: [3, 3], channels: {c0}, w_std: 1.4142135623730951, b_std: 0.1}}
  - activation: relu
  - conv: {{filter: [3, 3], channels: {c1}, w_std: 1.4142135623730951, b_std: 0.1}}
  - activation: relu
  - conv: {{filter: [3, 3], channels: {c2}, w_std: 1.4142135623730951, b_std: 0.1}}
  - activation: relu
  - global_avg_pool
  - dense: {{width: 1, w_std: 1.0, b_std: 0.0}}
"""

NT_CODE = """
import json, time, numpy as np, jax
import neural_tangents as nt
from neural_tangents import stax
# neural-tangents 0.6.5's structured derivatives read two names that jax 0.4.26 keeps only in jax._src
from jax._src.interpreters import ad as _ad
jax.interpreters.ad.source_info_util, jax.interpreters.ad.config = _ad.source_info_util, jax.config
data = np.load({path!r})
sw = 2.0 ** 0.5
init_fn, apply_fn, _ = stax.serial(
    *[layer for c in {channels!r} for layer in (stax.Conv(c, (3, 3), padding="SAME", W_std=sw, b_std=0.1),
                                              stax.Relu())],
    stax.GlobalAvgPool(), stax.Dense(1, W_std=1.0, b_std=0.0))
x = jax.numpy.asarray(data["x"])
_, shapes = init_fn(jax.random.PRNGKey(0), x.shape)
params, i = [], 0
for layer in shapes:  # ntksym's weights, reshaped to neural-tangents' layouts (HWIO convs, (1, ..., C) biases)
    if layer == ():
        params.append(())
        continue
    params.append(tuple(data[f"p{{i + j}}"].reshape(leaf.shape) for j, leaf in enumerate(layer)))
    i += len(layer)
out = {{}}
for name, impl in (("jacobian_contraction", nt.NtkImplementation.JACOBIAN_CONTRACTION),
                   ("ntk_vector_products", nt.NtkImplementation.NTK_VECTOR_PRODUCTS),
                   ("structured_derivatives", nt.NtkImplementation.STRUCTURED_DERIVATIVES)):
    for vmap_axes in (None, 0):
        fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), implementation=impl, vmap_axes=vmap_axes))
        start = time.perf_counter()
        compiled = fn.lower(x, None, params).compile()
        compile_time = time.perf_counter() - start
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost  # jax 0.4.26 returns one dict per program
        runs = []
        for _ in range({repeats}):
            start = time.perf_counter()
            k = np.asarray(jax.block_until_ready(compiled(x, None, params)))
            runs.append(time.perf_counter() - start)
        key = name + ("" if vmap_axes is None else "_vmap0")
        np.save({path!r}[:-4] + "_" + key + ".npy", k)
        out[key] = {{"compile": compile_time, "run": min(runs), "flops": float(cost.get("flops", 0.0))}}
print(json.dumps(out))
"""


def ntksym_setup(n: int, channels: tuple[int, int, int], seed: int = 0):
    """(params, x, compile seconds, compiled fn, its flops): float32 weights and inputs, the fast path compiled;
    flops as XLA's cost analysis counts them (a multiply-add is two)."""
    import jax

    import ntksym
    from ntksym.codegen.preludes import network as P
    from ntksym.runtime.network import init

    spec = ntksym.parse_spec(SPEC.format(size=SIZE, c0=channels[0], c1=channels[1], c2=channels[2]))
    params = init(jax.random.PRNGKey(seed), spec)
    params.layers = jax.tree_util.tree_map(lambda a: a.astype("float32"), params.layers)
    x = jax.random.normal(jax.random.PRNGKey(seed + 1), (n, SIZE, SIZE, 1), "float32")
    net = params.network
    start = time.perf_counter()
    compiled = P._net_empirical_ntk_jit.lower(
        params.layers, x, None, net.records, net.activations, net.parameterization
    ).compile()
    seconds = time.perf_counter() - start
    flops = float(compiled.cost_analysis().get("flops", 0.0))
    return params, x, seconds, lambda: compiled(params.layers, x, None), flops


def best_run(fn, repeats: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = np.asarray(fn().block_until_ready())
        times.append(time.perf_counter() - start)
    return min(times), out


def nt_times(params, x, channels, repeats: int, folder: Path) -> tuple[dict, dict]:
    """neural-tangents' timings and kernels for ntksym's weights (passed through an .npz file)."""
    from nt_env import run_in_nt_env

    leaves = [np.asarray(layer[key]) for layer in params.layers if layer for key in ("w", "b") if key in layer]
    path = str(folder / "cnn.npz")
    np.savez(path, x=np.asarray(x), **{f"p{i}": leaf for i, leaf in enumerate(leaves)})
    times = run_in_nt_env(NT_CODE.format(path=path, channels=tuple(channels), repeats=repeats))
    kernels = {name: np.load(path[:-4] + f"_{name}.npy") for name in times}
    return times, kernels


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def main(quick: bool = False) -> None:
    import jax

    jax.config.update("jax_enable_x64", False)
    size = QUICK if quick else FULL
    n, channels = size["n"], size["channels"]
    print(
        f"# empirical NTK: CNN 3 x conv 3x3 {'-'.join(map(str, channels))} channels + ReLU, global_avg_pool,"
        f" dense readout; {n} inputs {SIZE}x{SIZE}x1, float32, CPU (one run)"
    )
    params, x, t_compile, fast, flops = ntksym_setup(n, channels)
    t_fast, k_fast = best_run(fast, repeats=5)
    with tempfile.TemporaryDirectory() as folder:
        nt, kernels = nt_times(params, x, channels, repeats=1 if not quick else 3, folder=Path(folder))
    print("  implementation                                   compile (s)    run (s)   NT run / ntksym run"
          "   max |K - K_ntksym| / max |K|   GFLOP   GFLOP/s")
    for name, row in nt.items():
        diff = relative_difference(kernels[name], k_fast)
        print(f"  neural-tangents {name:<32} {row['compile']:10.2f} {row['run']:10.3f} {row['run'] / t_fast:14.1f}x"
              f" {diff:18.1e} {row['flops'] / 1e9:13.2f} {row['flops'] / 1e9 / row['run']:9.1f}")
    print(f"  ntksym structured (layer-factorised) path        {t_compile:10.2f} {t_fast:10.4f}"
          f" {'':15s} {'':18s} {flops / 1e9:13.2f} {flops / 1e9 / t_fast:9.1f}")
    best_name = min(nt, key=lambda name: nt[name]["run"])
    print(f"  ratio: neural-tangents' best ({best_name}) / ntksym = {nt[best_name]['run'] / t_fast:.1f}x")
    print(arithmetic_bound(flops, t_fast, nt[best_name]["run"]))


def arithmetic_bound(flops: float, seconds: float, best_nt_seconds: float) -> str:
    """The fastest ntksym's arithmetic could run on this machine (at its float32 peak), and so the largest
    ratio to neural-tangents' best that an implementation doing that arithmetic could show here."""
    from bench_matrix import peak_flops

    peak, how = peak_flops("float32")
    floor = flops / peak
    return (f"  arithmetic: ntksym runs {flops / 1e9:.2f} GFLOP at {flops / seconds / 1e9:.1f} GFLOP/s, "
            f"{100 * flops / seconds / peak:.0f}% of the float32 peak {peak / 1e9:.0f} GFLOP/s ({how}); at the "
            f"peak it would take {floor:.4f} s, {best_nt_seconds / floor:.1f}x neural-tangents' best run")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])


MATRIX_TOPIC = "empirical NTK, CNN"  # the benchmark matrix runs this file when its row filter admits this


def matrix_rows(quick: bool) -> list[dict]:
    """The benchmark matrix's row: ntksym's layer-factorised path against neural-tangents' fastest
    implementation; 'error' is the largest difference from neural-tangents' Jacobian contraction."""
    import jax

    jax.config.update("jax_enable_x64", False)
    size = QUICK if quick else FULL
    n, channels = size["n"], size["channels"]
    params, x, t_compile, fast, _ = ntksym_setup(n, channels)
    t_fast, k_fast = best_run(fast, repeats=5)
    with tempfile.TemporaryDirectory() as folder:
        nt, kernels = nt_times(params, x, channels, repeats=1 if not quick else 3, folder=Path(folder))
    best = min(nt, key=lambda name: nt[name]["run"])
    name = (f"empirical NTK, CNN conv 3x3 {'-'.join(map(str, channels))} + GAP, {n} inputs 8x8, float32 "
            f"(nt: {best})")
    return [{"workload": name,
             "ntksym": {"first": t_compile + t_fast, "steady": t_fast,
                        "error": relative_difference(k_fast, kernels["jacobian_contraction"])},
             "neural_tangents": {"first": nt[best]["compile"] + nt[best]["run"], "steady": nt[best]["run"]}}]
