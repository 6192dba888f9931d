"""Training-dynamics predictions at real sizes: ntksym vs neural-tangents 0.6.5, in one run.

Workload (issue 13, item 3): float64, n = 4000 train and m = 500 test inputs, digits-like (64 features:
8 x 8 blurred-stroke images of 10 classes, one-hot targets), the ReLU MLP of specs/relu_mlp.yaml (its
input_shape set to 64), both kernels (NNGP and NTK), mean and covariance at t = 1, 10, 100 and inf,
diag_reg 1e-4 (relative). ntksym: `ntksym.predict(..., kernel="both")`, kernels included; neural-tangents:
`nt.predict.gradient_descent_mse_ensemble` with its own jitted stax kernel_fn, get=("nngp", "ntk").
Each side is timed end to end on its first call (XLA compilation included) and on a second one (warm);
then the t = inf-only case (ntksym: Cholesky, no eigh; neural-tangents: t=None, its Cholesky path).
The two sides must agree to 1e-6 relative in every mean and covariance.

    python benchmarks/bench_predict.py            # n = 4000, m = 500 (about 5 minutes on 2 cores)
    python benchmarks/bench_predict.py --quick    # n = 1000, m = 200 (under a minute)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TIMES = [1.0, 10.0, 100.0, float("inf")]
DIAG_REG, CLASSES, SEED, TOLERANCE = 1e-4, 10, 0, 1e-6


def digits_like(count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """`count` 8 x 8 images (64 features, 0..16 like sklearn's digits) of 10 stroke classes, and labels."""
    grid = np.stack(np.meshgrid(np.arange(8), np.arange(8), indexing="ij"), -1).reshape(64, 2)
    strokes = np.random.default_rng(1234).uniform(1, 6, size=(CLASSES, 4, 2))  # 4 blobs per class
    labels = rng.integers(CLASSES, size=count)
    centres = strokes[labels] + rng.normal(scale=0.5, size=(count, 4, 2))  # each writer shifts the strokes
    dist = ((grid[None, None] - centres[:, :, None]) ** 2).sum(-1)  # (count, 4, 64)
    images = np.exp(-dist / 2).sum(1) * rng.uniform(0.7, 1.3, size=(count, 1))
    images = np.clip(16 * images / images.max(axis=1, keepdims=True) + rng.normal(scale=1.0, size=images.shape),
                     0, 16)
    return images / 16, labels


def workload(n: int, m: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x, labels = digits_like(n + m, rng)
    y = np.eye(CLASSES)[labels] - 1 / CLASSES
    return {"x_train": x[:n], "y_train": y[:n], "x_test": x[n:], "y_test": y[n:]}


def spec():
    import ntksym

    doc = yaml.safe_load((HERE.parent / "specs" / "relu_mlp.yaml").read_text())
    doc["input_shape"] = [64]
    return ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False))


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def ntksym_run(data: dict[str, np.ndarray]) -> dict:
    """ntksym.predict(kernel="both"): first call, warm call, and the t = inf-only call (warm)."""
    import jax

    import ntksym

    jax.config.update("jax_enable_x64", True)
    model = ntksym.compile(spec(), dtype="float64")

    def run(times):
        return ntksym.predict(model, data["x_train"], data["y_train"], data["x_test"], times, kernel="both",
                              diag_reg=DIAG_REG, y_test=data["y_test"])

    first, _ = timed(lambda: run(TIMES))
    warm, out = timed(lambda: run(TIMES))
    run([np.inf])  # compile the t = inf-only path
    inf_only, limit = timed(lambda: run([np.inf]))
    return {"first": first, "warm": warm, "inf_only": inf_only, "out": out, "limit": limit,
            **eigh_floor(model, data)}


def eigh_floor(model, data: dict[str, np.ndarray]) -> dict[str, float]:
    """Seconds of the work no eigendecomposition route can skip: the three kernel blocks, and LAPACK's
    symmetric eigendecomposition (jnp.linalg.eigh, compiled beforehand) of the two regularised train kernels."""
    import jax
    import jax.numpy as jnp

    def kernels():
        train = model.kernel(data["x_train"], None)
        model.kernel(data["x_test"], data["x_train"])
        model.kernel(data["x_test"], None)
        return train

    kernel_seconds, train = timed(kernels)
    eigh = jax.jit(jnp.linalg.eigh)
    matrices = []
    for k in (train.nngp, train.ntk):
        k = jnp.asarray(k)
        matrices.append(k + DIAG_REG * jnp.trace(k) / k.shape[0] * jnp.eye(k.shape[0], dtype=k.dtype))
    jax.block_until_ready(eigh(matrices[0]))  # compile
    eigh_seconds, _ = timed(lambda: [jax.block_until_ready(eigh(a)) for a in matrices])
    return {"kernels": kernel_seconds, "eighs": eigh_seconds}


NT_CODE = """
import json, time, numpy as np, jax
jax.config.update("jax_enable_x64", True)
import neural_tangents as nt
from neural_tangents import stax
data = np.load({data!r})
layers = []
for _ in range(5):
    layers += [stax.Dense(512, W_std=2 ** 0.5, b_std=0.0), stax.Relu()]
_, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=1.0, b_std=0.0))
kernel_fn = jax.jit(kernel_fn, static_argnames="get")

def run(t):
    start = time.perf_counter()
    fn = nt.predict.gradient_descent_mse_ensemble(kernel_fn, data["x_train"], data["y_train"], diag_reg={reg})
    out = jax.block_until_ready(fn(t=t, x_test=data["x_test"], get=("nngp", "ntk"), compute_cov=True))
    return time.perf_counter() - start, out

first, _ = run(np.asarray({times}))
warm, out = run(np.asarray({times}))
run(None)
inf_only, limit = run(None)
arrays = {{}}
for g in ("nngp", "ntk"):
    arrays[g + "_mean"], arrays[g + "_cov"] = np.asarray(getattr(out, g).mean), np.asarray(getattr(out, g).covariance)
    arrays[g + "_mean_inf"] = np.asarray(getattr(limit, g).mean)
    arrays[g + "_cov_inf"] = np.asarray(getattr(limit, g).covariance)
np.savez({result!r}, **arrays)
print(json.dumps({{"first": first, "warm": warm, "inf_only": inf_only, "jax": jax.__version__}}))
"""


def nt_run(data: dict[str, np.ndarray], folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """neural-tangents in its own environment (benchmarks/.nt-env): timings and its predictions."""
    from nt_env import run_in_nt_env

    np.savez(folder / "data.npz", **data)
    code = NT_CODE.format(data=str(folder / "data.npz"), result=str(folder / "nt.npz"), reg=DIAG_REG,
                          times=repr(TIMES).replace("inf", "np.inf"))
    timings = run_in_nt_env(code)
    with np.load(folder / "nt.npz") as result:
        return timings, dict(result)


def relative(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def differences(ours: dict, theirs: dict[str, np.ndarray]) -> dict[str, float]:
    """Max relative difference of each kernel's means and covariances, all times and t = inf alone."""
    diff = {}
    for g in ("nngp", "ntk"):
        p, limit = getattr(ours["out"], g), getattr(ours["limit"], g)
        diff[f"{g} mean"] = relative(p.mean, theirs[f"{g}_mean"])
        diff[f"{g} cov"] = relative(p.cov, theirs[f"{g}_cov"])
        diff[f"{g} mean, t = inf only"] = relative(limit.mean[0], theirs[f"{g}_mean_inf"])
        diff[f"{g} cov, t = inf only"] = relative(limit.cov[0], theirs[f"{g}_cov_inf"])
    return diff


def report(n: int, m: int, ours: dict, nt: dict, diff: dict[str, float]) -> bool:
    print(f"n = {n} train, m = {m} test, 64 features, 10 outputs, float64; t = {TIMES}; both kernels, "
          f"mean + covariance (ntksym: kernels included; neural-tangents {nt.get('jax', '?')} jax)")
    print(f"{'':28s}{'ntksym':>10s}{'neural-tangents':>17s}{'ratio':>8s}")
    for key, label in (("first", "first call (compiles)"), ("warm", "warm call"), ("inf_only", "t = inf only, warm")):
        print(f"{label:28s}{ours[key]:9.2f}s{nt[key]:16.2f}s{nt[key] / ours[key]:7.2f}x")
    floor = ours["kernels"] + ours["eighs"]
    print(f"  floor of any eigendecomposition route: the kernel blocks {ours['kernels']:.2f} s + LAPACK's eigh of the "
          f"two train kernels {ours['eighs']:.2f} s = {floor:.2f} s; neural-tangents' warm call / floor = "
          f"{nt['warm'] / floor:.2f}x")
    worst = max(diff.values())
    for name, value in diff.items():
        print(f"  max relative difference, {name}: {value:.2e}")
    ok = worst <= TOLERANCE
    print(f"agreement within {TOLERANCE:g}: {'yes' if ok else 'NO'} (worst {worst:.2e})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1000, m = 200 (for make bench-quick)")
    parser.add_argument("--json", type=Path, help="also write the figures to this .json file")
    args = parser.parse_args(argv)
    n, m = (1000, 200) if args.quick else (4000, 500)
    data = workload(n, m)
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        nt, theirs = nt_run(data, Path(tmp))
    ours = ntksym_run(data)
    diff = differences(ours, theirs)
    ok = report(n, m, ours, nt, diff)
    if args.json:
        figures = {"n": n, "m": m, "ntksym": {k: ours[k] for k in ("first", "warm", "inf_only")}, "nt": nt,
                   "differences": diff}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if not ok:
        raise SystemExit("ntksym and neural-tangents disagree beyond the tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())


MATRIX_TOPIC = "predict"  # the benchmark matrix runs this file when its row filter admits this


def matrix_rows(quick: bool) -> list[dict]:
    """The benchmark matrix's row (benchmarks/bench_matrix.py): 'error' is the largest relative difference
    from neural-tangents' predictions, which are exact to rounding here (closed-form ReLU kernels)."""
    n, m = (1000, 200) if quick else (4000, 500)
    data = workload(n, m)
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        nt, theirs = nt_run(data, Path(tmp))
    ours = ntksym_run(data)
    diff = differences(ours, theirs)
    name = f"predict n = {n}, m = {m}, both kernels, mean + cov at t = 1, 10, 100, inf, float64"
    return [{"workload": name, "ntksym": {"first": ours["first"], "steady": ours["warm"], "error": max(diff.values())},
             "neural_tangents": {"first": nt["first"], "steady": nt["warm"]}},
            {"workload": f"predict n = {n}, t = inf only (steady)",
             "ntksym": {"steady": ours["inf_only"]}, "neural_tangents": {"steady": nt["inf_only"]}}]
