"""Kernel evaluation: ntksym vs neural-tangents 0.6.5 vs a plain hand-written JAX loop, in one run.

Workload (the one of issue 8): float32, 4000 inputs of dimension 64, ReLU MLP (dense w_std=sqrt 2,
b_std=0.1, then relu, repeated; a final dense), NNGP + NTK of x with itself, on the CPU.

    python benchmarks/bench_kernel.py                 # everything (neural-tangents at depth 50: minutes)
    python benchmarks/bench_kernel.py --quick         # skip neural-tangents at depth 50
    python benchmarks/bench_kernel.py --memory-full   # the N=50,000 run on the full 50,000^2 kernel (20 GB)

Compile time is measured cold (fresh ntksym cache: derivation + code generation + XLA compilation);
run time is the best of several calls after that, end to end (host arrays in, host arrays out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

N, DIM, SEED = 4000, 64, 0
W_STD, B_STD = 2**0.5, 0.1


def spec_text(depth: int) -> str:
    return textwrap.dedent(f"""\
        ntksym: 1
        name: bench-relu-{depth}
        layers:
          - repeat: {depth}
            layers:
              - dense: {{w_std: {W_STD!r}, b_std: {B_STD!r}}}
              - activation: relu
          - dense: {{w_std: 1.0, b_std: 0.0}}
        """)


def inputs(n: int = N) -> np.ndarray:
    return np.random.default_rng(SEED).normal(size=(n, DIM)).astype(np.float32)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ntksym_times(depth: int, x: np.ndarray, repeats: int = 3) -> dict:
    """Cold compile (fresh cache) + first call, then the best of `repeats` calls."""
    import jax  # noqa: F401  imported before the timer starts, as neural-tangents' timers start after it too

    import ntksym

    os.environ["NTKSYM_CACHE_DIR"] = tempfile.mkdtemp(prefix="ntksym-bench-")
    start = time.perf_counter()
    model = ntksym.compile(ntksym.parse_spec(spec_text(depth)), dtype="float32")
    generate = time.perf_counter() - start
    start = time.perf_counter()
    kernel = model.kernel(x)
    first = time.perf_counter() - start
    run = best_of(lambda: model.kernel(x), repeats)
    return {"generate": generate, "compile": generate + first - run, "run": run, "kernel": kernel}


def hand_jax(depth: int):
    """The obvious JAX code: arccos of the correlation, a Python loop over layers (unrolled by jit)."""
    import jax
    import jax.numpy as jnp

    @jax.jit
    def kernel(x):
        d = x.shape[1]
        q = x @ x.T / d
        t = jnp.zeros_like(q)
        for _ in range(depth):
            q = W_STD**2 * q + B_STD**2
            t = q + W_STD**2 * t
            norm = jnp.sqrt(jnp.outer(jnp.diag(q), jnp.diag(q)))
            theta = jnp.arccos(jnp.clip(q / norm, -1, 1))
            t = t * (jnp.pi - theta) / (2 * jnp.pi)
            q = norm * (jnp.sin(theta) + (jnp.pi - theta) * jnp.cos(theta)) / (2 * jnp.pi)
        return q, q + t

    return kernel


def hand_times(depth: int, x: np.ndarray, repeats: int = 3) -> dict:
    import jax

    fn = hand_jax(depth)
    start = time.perf_counter()
    compiled = fn.lower(x).compile()
    compile_time = time.perf_counter() - start
    run = best_of(lambda: jax.block_until_ready(compiled(x)), repeats)
    nngp, ntk = compiled(x)
    return {"compile": compile_time, "run": run, "nngp": np.asarray(nngp), "ntk": np.asarray(ntk)}


NT_CODE = """
import json, time, numpy as np, jax
from neural_tangents import stax
depth, n, dim, repeats = {depth}, {n}, {dim}, {repeats}
layers = []
for _ in range(depth):
    layers += [stax.Dense(512, W_std={w}, b_std={b}), stax.Relu()]
_, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=1.0, b_std=0.0))
x = jax.numpy.asarray(np.random.default_rng({seed}).normal(size=(n, dim)).astype(np.float32))
fn = jax.jit(kernel_fn, static_argnames="get")
start = time.perf_counter()
compiled = fn.lower(x, None, ("nngp", "ntk")).compile()
compile_time = time.perf_counter() - start
runs = []
for _ in range(repeats):
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(x, None))
    runs.append(time.perf_counter() - start)
corner = np.asarray(out[1][:3, :3]).tolist()
print(json.dumps({{"compile": compile_time, "run": min(runs), "corner": corner}}))
"""


def nt_times(depth: int, repeats: int, timeout: float) -> dict:
    from nt_env import run_in_nt_env

    code = NT_CODE.format(depth=depth, n=N, dim=DIM, repeats=repeats, w=W_STD, b=B_STD, seed=SEED)
    try:
        return run_in_nt_env(code, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}


def cold(depth: int, n: int) -> dict:
    """ntksym in a fresh process and cache: derive + generate, then the first call (XLA compile + run)."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import bench_kernel as b; "
        f"r = b.ntksym_times({depth}, b.inputs({n}), repeats=1); r.pop('kernel'); print(json.dumps(r))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {**row, "first_call_total": row["compile"] + row["run"]}


def compile_vs_depth(depths=(10, 50, 200, 1000), n: int = 64) -> list[dict]:
    rows = []
    x = inputs(n)
    for depth in depths:
        hand = hand_times(depth, x, repeats=1) if depth <= 200 else None
        rows.append(
            {
                "depth": depth,
                "ntksym": cold(depth, n)["first_call_total"],
                "hand_jax_compile": None if hand is None else hand["compile"],
            }
        )
    return rows


MEMORY_CODE = """
import os, resource, sys, tempfile, time, numpy as np, ntksym
sys.path.insert(0, {here!r})
from bench_kernel import spec_text
n, m, depth = {n}, {m}, {depth}
rng = np.random.default_rng(0)
x1 = rng.normal(size=(n, 64)).astype(np.float32)
x2 = None if m is None else rng.normal(size=(m, 64)).astype(np.float32)
model = ntksym.compile(ntksym.parse_spec(spec_text(depth)), dtype="float32")
folder = tempfile.mkdtemp(prefix="ntksym-memmap-", dir={tmp!r})
start = time.perf_counter()
k = model.kernel(x1, x2, out=folder)
seconds = time.perf_counter() - start
check = model.kernel(x1[:300], None if x2 is None else x2[:300])
err = float(np.abs(np.asarray(k.ntk[:300, :300]) - check.ntk).max() / np.abs(check.ntk).max())
size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
for f in os.listdir(folder):
    os.remove(os.path.join(folder, f))
os.rmdir(folder)
# VmHWM: this process's own high-water mark (ru_maxrss can carry the parent's over fork + exec)
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
peak = int(hwm[0]) * 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print({{"shape": list(k.nngp.shape), "seconds": seconds, "peak_rss_bytes": peak, "output_bytes": size,
       "corner_rel_err": err}})
"""


def memory_peak(n: int = 50_000, m: int | None = 2000, depth: int = 10) -> dict:
    """Peak resident memory of a fresh process computing an (n, m) kernel into .npy files tile by tile."""
    code = MEMORY_CODE.format(here=str(HERE), n=n, m=m, depth=depth, tmp=str(HERE.parent / "build"))
    (HERE.parent / "build").mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    import ast

    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip neural-tangents at depth 50")
    parser.add_argument("--memory-full", action="store_true", help="N=50,000 against itself (20 GB written)")
    parser.add_argument("--nt-timeout", type=float, default=360.0)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # rows appear as they are measured
    x = inputs()
    import jax

    jax.block_until_ready(jax.numpy.zeros(1) + 1)  # start the backend before any timing
    print(f"# ReLU MLP, float32, {N} inputs of dimension {DIM}, NNGP + NTK, CPU ({os.cpu_count()} cores)")
    print(
        f"{'depth':>5} {'tool':<16} {'compile s':>10} {'run s':>9} "
        f"{'NT/ntksym run':>14} {'NT/ntksym compile':>18}"
    )
    for depth in (10, 50):
        mine = ntksym_times(depth, x)
        hand = hand_times(depth, x)
        nt = (
            {"skipped": True}
            if (args.quick and depth == 50)
            else nt_times(depth, 2 if depth == 10 else 1, args.nt_timeout)
        )
        err = np.abs(hand["ntk"] - mine["kernel"].ntk).max() / np.abs(hand["ntk"]).max()
        print(f"{depth:>5} {'ntksym':<16} {mine['compile']:>10.2f} {mine['run']:>9.3f}")
        print(
            f"{depth:>5} {'hand-written JAX':<16} {hand['compile']:>10.2f} {hand['run']:>9.3f} "
            f"{'':>14} {'':>18}  (x{hand['run'] / mine['run']:.1f} slower than ntksym; "
            f"max rel diff {err:.1e})"
        )
        if "run" in nt:
            print(
                f"{depth:>5} {'neural-tangents':<16} {nt['compile']:>10.2f} {nt['run']:>9.3f} "
                f"{nt['run'] / mine['run']:>14.1f} {nt['compile'] / mine['compile']:>18.1f}"
            )
        else:
            print(f"{depth:>5} {'neural-tangents':<16} {json.dumps(nt)}")
    deep = cold(1000, 64)
    print(
        f"\n# depth 1000, 64 inputs, fresh process and cache: derive + generate {deep['generate']:.2f} s, "
        f"total with XLA compile and the first evaluation {deep['first_call_total']:.2f} s (target < 3 s)"
    )
    print(
        "\n# compile time vs depth, 64 inputs: ntksym cold (derive + generate + XLA + first call) vs "
        "hand-written JAX (XLA compile of the unrolled loop)"
    )
    for row in compile_vs_depth():
        hand = (
            "n/a (unrolled: too slow)"
            if row["hand_jax_compile"] is None
            else f"{row['hand_jax_compile']:.2f} s"
        )
        print(f"  depth {row['depth']:>5}: ntksym {row['ntksym']:.2f} s, hand JAX {hand}")
    m = None if args.memory_full else 2000
    peak = memory_peak(50_000, m)
    print(
        f"\n# tiled N=50,000 x {peak['shape'][1]:,} (depth 10, float32, written to .npy tile by tile): "
        f"{peak['seconds']:.1f} s, peak RSS {peak['peak_rss_bytes'] / 2**30:.2f} GiB, "
        f"output {peak['output_bytes'] / 1e9:.2f} GB, corner rel err vs untiled {peak['corner_rel_err']:.1e}"
    )


if __name__ == "__main__":
    main()
