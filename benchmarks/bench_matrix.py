"""The benchmark matrix: one row per workload a user runs, ntksym against neural-tangents 0.6.5, one run.

    python benchmarks/bench_matrix.py            # every row at full size (`make bench`; tens of minutes)
    python benchmarks/bench_matrix.py --quick    # smaller sizes, under 5 minutes (`make bench-quick`)
    python benchmarks/bench_matrix.py --only tanh,cnn-gap   # rows whose name contains any of these
    python benchmarks/bench_matrix.py --skip "21 layers"    # all rows but these

Each tool runs each workload in a fresh process (ntksym also with a fresh module cache), so *first* is
what a user waits for on the first call: derivation, code generation, XLA compilation and the first
evaluation for ntksym; kernel_fn construction, jit compilation and the first evaluation for
neural-tangents. *steady* is the best of two more calls on the same inputs. Both tools get the same
inputs (scikit-learn's digits where the workload is digits-sized, else seeded normal data) and return the
NNGP and NTK of x with itself. *error* is the largest entry-wise difference from an exact value (over
the first rows, relative to the largest entry): for closed forms, ntksym in float64 (exact to rounding);
for tanh, an independent recursion with the 2-D Gaussian quadrature (about 1e-11), on the first 60 rows.

neural-tangents lives in its own environment (benchmarks/nt_env.py): it does not import on current JAX.
Other benchmark files add rows through `matrix_rows(quick)` (training predictions, empirical NTKs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SQRT2 = 2**0.5
EXACT_ROWS = 100  # rows of the kernel compared against the exact value
TANH_EXACT_ROWS = 60  # the 2-D quadrature costs 46,080 integrand values per pair


@dataclass(frozen=True)
class Workload:
    name: str
    spec: str  # the ntksym spec
    nt_layers: str  # the same network as a neural-tangents stax expression
    inputs: str  # "normal:N:D" or "digits:N" (8x8x1 images) or "digits-flat:N" (64 features)
    dtype: str
    exact: str  # "ntksym64" or "tanh-quadrature"
    per_entry: bool = False  # also report the steady time per distinct kernel entry


def mlp_spec(name: str, depth: int, activation: str, w_std: float, b_std: float, input_dim: int) -> str:
    return textwrap.dedent(f"""\
        ntksym: 1
        name: {name}
        input_shape: [{input_dim}]
        layers:
          - repeat: {depth}
            layers:
              - dense: {{w_std: {w_std!r}, b_std: {b_std!r}}}
              - activation: {activation}
          - dense: {{w_std: 1.0, b_std: 0.0}}
        """)


def nt_mlp(depth: int, activation: str, w_std: float, b_std: float) -> str:
    return (f"[stax.Dense(512, W_std={w_std!r}, b_std={b_std!r}), {activation}] * {depth} "
            "+ [stax.Dense(1, W_std=1.0, b_std=0.0)]")


CNN_FLATTEN = """\
ntksym: 1
name: bench-cnn-flatten
input_shape: [8, 8, 1]
layers:
  - repeat: 4
    layers:
      - conv: {filter: [3, 3], channels: 128, w_std: 1.4142135623730951, b_std: 0.0}
      - activation: relu
  - flatten
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""
NT_CNN_FLATTEN = ("[stax.Conv(128, (3, 3), padding='SAME', W_std=2**0.5, b_std=0.0), stax.Relu()] * 4 "
                  "+ [stax.Flatten(), stax.Dense(1, W_std=1.0, b_std=0.0)]")
CNN_GAP = """\
ntksym: 1
name: bench-cnn-gap
input_shape: [8, 8, 1]
layers:
  - conv: {filter: [3, 3], channels: 64, w_std: 1.4142135623730951, b_std: 0.05}
  - activation: relu
  - conv: {filter: [3, 3], stride: [2, 2], channels: 64, w_std: 1.4142135623730951, b_std: 0.05}
  - activation: relu
  - conv: {filter: [3, 3], channels: 64, w_std: 1.4142135623730951, b_std: 0.05}
  - activation: relu
  - global_avg_pool
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""
NT_CNN_GAP = ("[stax.Conv(64, (3, 3), padding='SAME', W_std=2**0.5, b_std=0.05), stax.Relu(), "
              "stax.Conv(64, (3, 3), (2, 2), padding='SAME', W_std=2**0.5, b_std=0.05), stax.Relu(), "
              "stax.Conv(64, (3, 3), padding='SAME', W_std=2**0.5, b_std=0.05), stax.Relu(), "
              "stax.GlobalAvgPool(), stax.Dense(1, W_std=1.0, b_std=0.0)]")
CNN_GAP_32 = """\
ntksym: 1
name: bench-cnn-gap-32
input_shape: [32, 32, 3]
layers:
  - repeat: 21
    layers:
      - conv: {filter: [3, 3], channels: 128, w_std: 1.4142135623730951, b_std: 0.05}
      - activation: relu
  - global_avg_pool
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""
NT_CNN_GAP_32 = ("[stax.Conv(128, (3, 3), padding='SAME', W_std=2**0.5, b_std=0.05), stax.Relu()] * 21 "
                 "+ [stax.GlobalAvgPool(), stax.Dense(1, W_std=1.0, b_std=0.0)]")
GENERATOR = (HERE.parent / "specs" / "generator_convtranspose.yaml").read_text()
NT_GENERATOR = ("[stax.ConvTranspose(128, (4, 4), (2, 2), 'SAME', W_std=2**0.5, b_std=0.0), stax.Relu(), "
                "stax.ConvTranspose(64, (4, 4), (2, 2), 'SAME', W_std=2**0.5, b_std=0.0), stax.Relu(), "
                "stax.Conv(3, (3, 3), padding='SAME', W_std=1.0, b_std=0.0), stax.Erf(), "
                "stax.Flatten(), stax.Dense(1, W_std=1.0, b_std=0.0)]")
TRANSFORMER = (HERE.parent / "specs" / "transformer_block.yaml").read_text()
_NT_BLOCK = ("[stax.FanOut(2), stax.parallel(stax.Identity(), stax.GlobalSelfAttention(128, 128, 128, 4, True, "
             "W_key_std=1.0, W_value_std=1.0, W_query_std=1.0, W_out_std=1.0, b_std=0.1, "
             "attention_mechanism='SOFTMAX')), stax.FanInSum(), stax.LayerNorm(axis=-1), stax.FanOut(2), "
             "stax.parallel(stax.Identity(), stax.serial(stax.Dense(256, W_std=1.0, b_std=0.1), stax.Relu(), "
             "stax.Dense(128, W_std=1.0, b_std=0.0))), stax.FanInSum(), stax.LayerNorm(axis=-1)]")
NT_TRANSFORMER = (f"[stax.Dense(128, W_std=1.2, b_std=0.1)] + {_NT_BLOCK} * 2 "
                  "+ [stax.GlobalAvgPool(), stax.Dense(1, W_std=1.0, b_std=0.0)]")
TANH_W, TANH_B = 1.3266499161421599, 0.22360679774997896  # sigma_w^2 = 1.76, sigma_b^2 = 0.05


def workloads(quick: bool) -> list[Workload]:
    n_relu = 1000 if quick else 4000
    n_smooth = 300 if quick else 1000
    n_cnn = 100
    return [
        Workload(f"relu MLP depth 10, {n_relu} x 64, float32", mlp_spec("bench-relu-10", 10, "relu", SQRT2, 0.1, 64),
                 nt_mlp(10, "stax.Relu()", SQRT2, 0.1), f"normal:{n_relu}:64", "float32", "ntksym64"),
        Workload(f"relu MLP depth 50, {n_relu} x 64, float32", mlp_spec("bench-relu-50", 50, "relu", SQRT2, 0.1, 64),
                 nt_mlp(50, "stax.Relu()", SQRT2, 0.1), f"normal:{n_relu}:64", "float32", "ntksym64"),
        Workload(f"tanh MLP depth 3, {n_smooth} digits, float64 (nt: deg 25)",
                 mlp_spec("bench-tanh-3", 3, "tanh", TANH_W, TANH_B, 64),
                 nt_mlp(3, "stax.ElementwiseNumerical(jnp.tanh, deg=25)", TANH_W, TANH_B),
                 f"digits-flat:{n_smooth}", "float64", "tanh-quadrature"),
        Workload(f"erf MLP depth 3, {n_smooth} digits, float64", mlp_spec("bench-erf-3", 3, "erf", 1.5, 0.1, 64),
                 nt_mlp(3, "stax.Erf()", 1.5, 0.1), f"digits-flat:{n_smooth}", "float64", "ntksym64"),
        Workload(f"CNN + flatten, {n_cnn} digits 8x8, float64", CNN_FLATTEN, NT_CNN_FLATTEN, f"digits:{n_cnn}",
                 "float64", "ntksym64"),
        Workload(f"CNN + global_avg_pool, {n_cnn} digits 8x8, float64", CNN_GAP, NT_CNN_GAP, f"digits:{n_cnn}",
                 "float64", "ntksym64"),
        Workload(f"transformer block (2 x attention + MLP), {128 if quick else 512} sequences 16 x 8, float32",
                 TRANSFORMER, NT_TRANSFORMER, f"normal:{128 if quick else 512}:16:8", "float32", "ntksym64"),
        Workload(f"generator conv_transpose 4x4 -> 16x16, {2 * n_cnn} latents 4x4x8, float32", GENERATOR,
                 NT_GENERATOR, f"normal:{2 * n_cnn}:4:4:8", "float32", "ntksym64"),
    ] + ([] if quick else [
        Workload("CNN-GAP 21 layers 3x3, 3 images 32x32x3, float32 (6 entries)", CNN_GAP_32, NT_CNN_GAP_32,
                 "images:3:32:32:3", "float32", "ntksym64", per_entry=True),
    ])


def make_inputs(kind: str) -> np.ndarray:
    name, *sizes = kind.split(":")
    if name in ("normal", "images"):
        return np.random.default_rng(0).normal(size=tuple(map(int, sizes)))
    from sklearn.datasets import load_digits

    n = int(sizes[0])
    images = load_digits().data[:n] / 16.0
    return images if name == "digits-flat" else images.reshape(n, 8, 8, 1)


NTKSYM_JOB = """
import json, sys, time
import numpy as np
import jax  # imported before the timer, as in the neural-tangents job (ntksym itself imports it at compile)
import ntksym
spec_text, x_path, dtype, out_path = sys.argv[1:5]
x = np.load(x_path).astype(dtype)
start = time.perf_counter()
model = ntksym.compile(ntksym.parse_spec(spec_text), dtype=dtype)
k = model.kernel(x)
first = time.perf_counter() - start
steady = []
for _ in range(2):
    start = time.perf_counter()
    k = model.kernel(x)
    steady.append(time.perf_counter() - start)
np.savez(out_path, nngp=k.nngp, ntk=k.ntk)
print(json.dumps({"first": first, "steady": min(steady)}))
"""

NT_JOB = """
import json, sys, time
import numpy as np
import jax
import jax.numpy as jnp
layers_src, x_path, dtype, out_path = sys.argv[1:5]
if dtype == "float64":
    jax.config.update("jax_enable_x64", True)
from neural_tangents import stax
x = jnp.asarray(np.load(x_path).astype(dtype))
start = time.perf_counter()
_, _, kernel_fn = stax.serial(*eval(layers_src))
kernel_fn = jax.jit(kernel_fn, static_argnames="get")
k = kernel_fn(x, None, get=("nngp", "ntk"))
nngp, ntk = np.asarray(k.nngp), np.asarray(k.ntk)
first = time.perf_counter() - start
steady = []
for _ in range(2):
    start = time.perf_counter()
    k = kernel_fn(x, None, get=("nngp", "ntk"))
    nngp, ntk = np.asarray(k.nngp), np.asarray(k.ntk)
    steady.append(time.perf_counter() - start)
np.savez(out_path, nngp=nngp, ntk=ntk)
print(json.dumps({"first": first, "steady": min(steady)}))
"""


def run_job(python: str, code: str, args: list[str], env: dict, timeout: float) -> dict:
    try:
        done = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"no answer in {timeout:.0f} s"}
    if "slow_operation_alarm" in done.stderr or "Constant folding an instruction is taking" in done.stderr:
        print("  XLA slow-operation alarm on stderr:", done.stderr.strip().splitlines()[-1][:200])
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else "failed"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["alarm"] = "Constant folding" in done.stderr or "slow_operation_alarm" in done.stderr
    return result


def exact_kernels(work: Workload, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact NNGP and NTK of the first EXACT_ROWS inputs."""
    import ntksym

    x = x[:EXACT_ROWS]
    if work.exact == "tanh-quadrature":
        return tanh_mlp_by_quadrature(x[:TANH_EXACT_ROWS], depth=3, w_std=TANH_W, b_std=TANH_B)
    k = ntksym.compile(ntksym.parse_spec(work.spec), dtype="float64").kernel(x.astype(np.float64))
    return k.nngp, k.ntk


def tanh_mlp_by_quadrature(x, depth, w_std, b_std):
    """NNGP and NTK of a dense+tanh MLP by an independent recursion (THEORY.md) whose Gaussian
    expectations use the variance-fitted 2-D quadrature (docs/quadrature.md: about 1e-11), never the
    Mehler series that ntksym's generated code takes."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from ntksym.codegen.preludes import quadrature as quad

    tanh, dtanh = jnp.tanh, (lambda u: 1 - jnp.tanh(u) ** 2)

    @jax.jit
    def recursion(x):
        sigma = x @ x.T / x.shape[1]
        theta = jnp.zeros_like(sigma)
        for _ in range(depth):
            sigma = w_std**2 * sigma + b_std**2
            theta = sigma + w_std**2 * theta
            d = jnp.diag(sigma)
            q11, q22 = d[:, None] * jnp.ones_like(sigma), d[None, :] * jnp.ones_like(sigma)
            pair = quad._expect_pair_quadrature(dtanh, dtanh, q11, sigma, q22)
            sigma_new = quad._expect_pair_quadrature(tanh, tanh, q11, sigma, q22)
            same = jnp.arange(len(d))
            sigma_new = sigma_new.at[same, same].set(quad._expect_same(tanh, tanh, d))
            pair = pair.at[same, same].set(quad._expect_same(dtanh, dtanh, d))
            sigma, theta = sigma_new, pair * theta
        sigma = sigma + 0.0  # the readout: w_std = 1, b_std = 0
        return sigma, sigma + theta

    nngp, ntk = recursion(jnp.asarray(x))
    return np.asarray(nngp), np.asarray(ntk)


def relative_error(k: np.ndarray, exact: np.ndarray) -> float:
    block = np.asarray(k, np.float64)[: exact.shape[0], : exact.shape[1]]
    return float(np.max(np.abs(block - exact)) / np.max(np.abs(exact)))


def kernel_row(work: Workload, tmp: Path, timeout: float) -> dict:
    from nt_env import ensure_env

    x = make_inputs(work.inputs)
    x_path = tmp / "x.npy"
    np.save(x_path, x)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    base["JAX_PLATFORMS"] = "cpu"
    ours_env = dict(base, NTKSYM_CACHE_DIR=tempfile.mkdtemp(dir=tmp))
    ours = run_job(sys.executable, NTKSYM_JOB, [work.spec, str(x_path), work.dtype, str(tmp / "ours.npz")],
                   ours_env, timeout)
    theirs = run_job(str(ensure_env()), NT_JOB, [work.nt_layers, str(x_path), work.dtype, str(tmp / "nt.npz")],
                     base, timeout)
    nngp, ntk = exact_kernels(work, x)
    row = {"workload": work.name, "ntksym": ours, "neural_tangents": theirs}
    if work.per_entry:
        entries = len(x) * (len(x) + 1) // 2
        for result in (ours, theirs):
            if "steady" in result:
                result["per_entry"] = result["steady"] / entries
    for who, path in (("ntksym", tmp / "ours.npz"), ("neural_tangents", tmp / "nt.npz")):
        if "failed" not in row[who]:
            k = np.load(path)
            row[who]["error"] = max(relative_error(k["nngp"], nngp), relative_error(k["ntk"], ntk))
    return row


ELEMENTWISE = {"add", "subtract", "multiply", "divide", "sqrt", "rsqrt", "maximum", "minimum", "abs", "negate",
               "select", "compare", "exponential", "log", "and", "or", "xor", "not", "clamp", "floor", "sign"}


def relu_operations_per_pair_and_layer(spec: str, side: int = 256) -> int:
    """Elementwise operations XLA runs per pair of inputs in one repeat of the ReLU block (dense + relu,
    NNGP and NTK together): counted in the optimised HLO of the loop body of a (side x side) block, every
    arithmetic, compare and select on a (side, side) array counting one."""
    import ntksym

    module = ntksym.compile(ntksym.parse_spec(spec), dtype="float32").module
    x = np.zeros((side, 64), np.float32)
    hlo = module._kernel_with_diagonals.lower(x, x, {}).compile().as_text()
    pattern = re.compile(rf"= \w+\[{side},{side}\]\S* ([\w-]+)\(")
    return sum(1 for line in hlo.splitlines()
               if "while/body" in line and (m := pattern.search(line)) and m.group(1) in ELEMENTWISE)


def peak_flops(dtype: str) -> tuple[float, str]:
    """Floating-point peak of this machine's CPUs: cores x clock x SIMD lanes x 2 (FMA) x 2 FMA pipes."""
    cores = os.cpu_count() or 1
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = max((float(v) for v in re.findall(r"cpu MHz\s*:\s*([0-9.]+)", text)), default=2000.0)
    width = 512 if "avx512f" in text else 256 if "avx2" in text else 128
    lanes = width // (32 if dtype == "float32" else 64)
    return cores * mhz * 1e6 * lanes * 2 * 2, f"{cores} cores x {mhz:.0f} MHz x {lanes} lanes x 2 (FMA) x 2 pipes"


def relu_rate_line(rows: list[dict], quick: bool) -> str:
    row = next((r for r in rows if r["workload"].startswith("relu MLP depth 10")), None)
    if row is None or "steady" not in row["ntksym"]:
        return ""
    n, side = (1000 if quick else 4000), 256
    blocks_per_side = -(-n // side)
    block = -(-n // blocks_per_side)
    pairs = blocks_per_side * (blocks_per_side + 1) // 2 * block**2  # the blocks on and above the diagonal
    ops = relu_operations_per_pair_and_layer(workloads(quick)[0].spec, block)
    rate = ops * pairs * 10 / row["ntksym"]["steady"]
    peak, how = peak_flops("float32")
    return (f"ReLU MLP depth 10: {ops} elementwise operations per pair per layer (NNGP + NTK), {pairs:,} pairs "
            f"computed: {rate / 1e9:.1f} G operations/s, {100 * rate / peak:.0f}% of the float32 peak "
            f"{peak / 1e9:.0f} GFLOP/s ({how})")


def external_rows(quick: bool, chosen) -> list[dict]:
    """Rows from the other benchmark files that define `matrix_rows(quick)`, those whose `MATRIX_TOPIC`
    (a part of their row names) is `chosen`."""
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if path.stem == "bench_matrix":
            continue
        module = importlib.import_module(path.stem)
        if hasattr(module, "matrix_rows") and chosen(module.MATRIX_TOPIC):
            print(f"running: {path.stem}", flush=True)
            rows.extend(row for row in module.matrix_rows(quick) if chosen(row["workload"]))
    return rows


def fmt_time(result: dict, key: str) -> str:
    if "failed" in result:
        return result["failed"] if key == "first" else "-"
    if key not in result:
        return "-"
    text = f"{result[key]:.2f} s"
    if key == "steady" and "per_entry" in result:
        text += f" ({1000 * result['per_entry']:.0f} ms/entry)"
    return text


def fmt_error(result: dict) -> str:
    value = result.get("error")
    return f"{value:.1e}" if isinstance(value, float) else "-"


def table(rows: list[dict]) -> str:
    lines = ["| workload | ntksym first | nt first | ratio | ntksym steady | nt steady | ratio | ntksym error | nt error |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        ours, theirs = row["ntksym"], row["neural_tangents"]
        ratios = []
        for key in ("first", "steady"):
            ok = key in ours and key in theirs and ours[key] > 0
            ratios.append(f"**{theirs[key] / ours[key]:.1f}x**" if ok else "-")
        lines.append(f"| {row['workload']} | {fmt_time(ours, 'first')} | {fmt_time(theirs, 'first')} | {ratios[0]} | "
                     f"{fmt_time(ours, 'steady')} | {fmt_time(theirs, 'steady')} | {ratios[1]} | "
                     f"{fmt_error(ours)} | {fmt_error(theirs)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: the whole matrix in under 5 minutes")
    parser.add_argument("--only", default="", help="comma-separated parts of row names to run")
    parser.add_argument("--skip", default="", help="comma-separated parts of row names to leave out")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    skipped = [w.strip().lower() for w in args.skip.split(",") if w.strip()]

    def chosen(name: str) -> bool:
        name = name.lower()
        return (not wanted or any(w in name for w in wanted)) and not any(w in name for w in skipped)

    timeout = 300 if args.quick else 1800
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for work in workloads(args.quick):
            if not chosen(work.name):
                continue
            print(f"running: {work.name}", flush=True)
            rows.append(kernel_row(work, Path(folder), timeout))
    rows += external_rows(args.quick, chosen)
    print(f"\nbenchmark matrix ({'quick' if args.quick else 'full'}), {time.perf_counter() - start:.0f} s in all; "
          "ratio = neural-tangents / ntksym (above 1: ntksym is faster)\n")
    print(table(rows))
    line = relu_rate_line(rows, args.quick)
    if line:
        print("\n" + line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
