"""Measure symmetry and PSD-ness of kernels at numerical extremes; print the Markdown tables of
docs/troubleshooting.md ("numerical extremes").

    python tools/numerical_extremes.py > /tmp/extremes.md

For each block (activation, layer_norm MLP, residual MLP), dtype and input kind (tests/extremes.py), two
networks: depth 1000 at a w_std where the variance stays finite, and depth 3 at w_std = 10. A cell is the
worse of NNGP and NTK: max|K - K^T| / max|K| and lambda_min / |lambda|_max; "NumericalError" where the
kernel overflows (then the command exits 1 with advice, never NaN).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
jax.config.update("jax_enable_x64", True)

from extremes import BLOCKS, INPUT_KINDS, asymmetry, inputs, min_eigenvalue_ratio, spec_text  # noqa: E402

import ntksym  # noqa: E402

# w_std at depth 1000 for which the variance map stays bounded (critical or ordered)
DEEP_W = {"relu": 2**0.5, "abs": 1.0, "leaky_relu": 1.4, "step": 1.5, "erf": 1.0, "gelu": 1.4, "sin": 1.0,
          "cos": 1.0, "identity": 1.0, "layer_norm": 2.0, "residual": 2**0.5}
CONFIGS = (("depth 1000", 1000, None, 0.1), ("depth 3, w_std 10", 3, 10.0, 1.0))


def measure(block: str, depth: int, w: float, b: float, dtype: str) -> dict[str, str]:
    model = ntksym.compile(ntksym.parse_spec(spec_text(block, depth, w, b)), dtype=dtype)
    cells = {}
    for kind in INPUT_KINDS:
        try:
            k = model.kernel(inputs(kind))
        except ntksym.NumericalError:
            cells[kind] = "NumericalError"
            continue
        asym = max(asymmetry(k.nngp), asymmetry(k.ntk))
        eig = min(min_eigenvalue_ratio(k.nngp), min_eigenvalue_ratio(k.ntk))
        cells[kind] = f"{asym:.0e} / {eig:.0e}"
        measure.worst[dtype] = (max(measure.worst[dtype][0], asym), min(measure.worst[dtype][1], eig))
    return cells


measure.worst = {"float32": (0.0, 0.0), "float64": (0.0, 0.0)}


def main() -> None:
    start = time.perf_counter()
    for title, depth, w_fixed, b in CONFIGS:
        print(f"\n**{title}** (b_std = {b}; cells: asymmetry / most negative eigenvalue ratio)\n")
        print("| block | w_std | dtype | " + " | ".join(INPUT_KINDS) + " |")
        print("|---|---|---|" + "---|" * len(INPUT_KINDS))
        for block in BLOCKS:
            w = DEEP_W[block] if w_fixed is None else w_fixed
            for dtype in ("float32", "float64"):
                cells = measure(block, depth, w, b, dtype)
                print(f"| {block} | {w:.3g} | {dtype} | " + " | ".join(cells[k] for k in INPUT_KINDS) + " |",
                      flush=True)
    print()
    for dtype, (asym, eig) in measure.worst.items():
        print(f"worst {dtype}: asymmetry {asym:.2e}, most negative eigenvalue ratio {eig:.2e}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
