"""Kernels at GPU sizes, with the achieved rate against the GPU's peak (run by benchmarks/gpu_check.sh).

    python benchmarks/gpu_sizes.py [--quick]

1. ReLU MLP depth 10, N = 20,000 inputs of 64 features, float32: the full NNGP + NTK (tiled), its time and
   elementwise operations per second (counted in the compiled HLO, bench_matrix.py) against the peak
   from `--peak-tflops` (default: looked up from the device name for common NVIDIA parts).
2. CNN-GAP, 21 layers of 3x3 conv + relu, 32x32x3 images, float32: seconds per kernel entry.
3. Empirical NTK of a 3-layer ReLU MLP of width 4096 on 256 inputs (the layer-factorised fast path).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# dense float32 peaks (TFLOP/s, no tensor cores: the kernels are elementwise)
PEAKS = {"H200": 67.0, "H100": 67.0, "A100": 19.5, "L40S": 91.6, "L4": 30.3, "V100": 15.7, "T4": 8.1, "A10": 31.2}


def _best(fn, repeat: int = 2) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    from bench_matrix import CNN_GAP_32, mlp_spec, relu_operations_per_pair_and_layer

    import ntksym
    from ntksym.runtime.empirical import empirical_ntk
    from ntksym.runtime.network import init

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 4000, 2 images, width 1024")
    parser.add_argument("--peak-tflops", type=float, default=None)
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    print(f"jax {jax.__version__}, device {device.device_kind} ({device.platform})")
    if device.platform != "gpu":
        print("no GPU: the figures below are CPU ones")
    peak = args.peak_tflops or next((v for k, v in PEAKS.items() if k in device.device_kind), None)

    n = 4000 if args.quick else 20_000
    spec = mlp_spec("gpu-relu-10", 10, "relu", 2**0.5, 0.1, 64)
    model = ntksym.compile(ntksym.parse_spec(spec), dtype="float32")
    x = np.random.default_rng(0).standard_normal((n, 64)).astype(np.float32)
    seconds = _best(lambda: model.kernel(x), repeat=1)
    ops = relu_operations_per_pair_and_layer(spec, 2048 if device.platform == "gpu" else 256)
    rate = ops * n * (n + 1) / 2 * 10 / seconds
    share = "" if peak is None else f", {100 * rate / (peak * 1e12):.1f} % of the {peak:g} TFLOP/s float32 peak"
    print(f"ReLU MLP depth 10, N = {n}: {seconds:.2f} s, {rate / 1e12:.2f} T elementwise operations/s{share}")

    images = 2 if args.quick else 3
    model = ntksym.compile(ntksym.parse_spec(CNN_GAP_32), dtype="float32")
    x = np.random.default_rng(1).standard_normal((images, 32, 32, 3)).astype(np.float32)
    seconds = _best(lambda: model.kernel(x))
    entries = images * (images + 1) // 2
    print(f"CNN-GAP 21 layers, {images} images 32x32x3: {seconds:.2f} s, {seconds / entries:.2f} s per kernel entry")

    width = 1024 if args.quick else 4096
    text = ("ntksym: 1\nname: gpu-empirical\ninput_shape: [64]\nlayers:\n  - repeat: 3\n    layers:\n"
            "      - dense: {w_std: 1.4142135623730951, b_std: 0.1}\n      - activation: relu\n"
            "  - dense: {width: 1, w_std: 1.0}\n")
    params = init(jax.random.PRNGKey(0), ntksym.parse_spec(text), width=width)
    x = np.random.default_rng(2).standard_normal((256, 64)).astype(np.float32)
    seconds = _best(lambda: jax.block_until_ready(empirical_ntk(params, x)))
    print(f"empirical NTK, 3 x {width} ReLU MLP, 256 inputs: {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
