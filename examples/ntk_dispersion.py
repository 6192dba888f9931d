"""Seed 000 (Seleznova & Kutyniok 2022) and Hanin & Nica (2020): how random the NTK is at initialisation.

    python examples/ntk_dispersion.py [-o docs/ntk_dispersion.png]

1. ReLU without bias at w_std^2 = 2 (specs/relu_depth.yaml), width 50, depth 1 to 25 (beta = depth/width
   from 0.02 to 0.5), 200 seeds per point: log E[Theta^2]/E[Theta]^2 against beta, fitted line and R^2.
2. The same network with erf and b_std = 0.1 in the ordered phase (w_std = 0.8), near the edge of chaos
   (w_std = 1.06, from `ntksym derive`) and in the chaotic phase (w_std = 1.5, 3): the dispersion stays
   near 1 in the ordered phase and grows with depth/width in the chaotic one.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ntksym  # noqa: E402
from ntksym.files import write_atomic  # noqa: E402
from ntksym.runtime.dispersion import HANIN_NICA_SLOPE, ntk_dispersion  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEPTHS = [1, 2, 4, 6, 9, 12, 16, 20, 25]
WIDTH, SEEDS = 50, 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "ntk_dispersion.png"))
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal((3, 8))
    relu_text = (ROOT / "specs" / "relu_depth.yaml").read_text()
    relu = ntk_dispersion(ntksym.parse_spec(relu_text), x, [WIDTH], DEPTHS, seeds=SEEDS)
    slope, intercept, r2 = relu.fit()
    print(f"ReLU, no bias, w_std^2 = 2, width {WIDTH}, {SEEDS} seeds: log dispersion = {slope:.2f} beta "
          f"+ {intercept:.3f}, R^2 = {r2:.3f} (Hanin & Nica: slope {HANIN_NICA_SLOPE:g})")
    erf_text = (relu_text.replace("activation: relu", "activation: erf").replace("name: relu-depth", "name: erf-depth")
                .replace("b_std: null}\n      - activation", "b_std: 0.1}\n      - activation"))
    erf_spec = ntksym.parse_spec(erf_text)
    edge = ntksym.derive(erf_spec).edge_of_chaos(b_std=0.1).w_std
    phases = [("ordered", 0.8), ("edge of chaos", edge), ("chaotic", 1.5), ("chaotic", 3.0)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    beta = np.array([p.beta for p in relu.points])
    left.semilogy(beta, [p.diagonal for p in relu.points], "o", label="measured, Theta(x, x)")
    left.semilogy(beta, np.exp(intercept + slope * beta), "--", label=f"fit exp({slope:.2f} beta), R^2 {r2:.2f}")
    left.semilogy(beta, np.exp(HANIN_NICA_SLOPE * beta), ":", color="grey", label="Hanin & Nica exp(5 beta)")
    left.set(xlabel="beta = depth / width", ylabel="E[Theta^2] / E[Theta]^2", title="ReLU, w_std^2 = 2, no bias")
    left.legend(fontsize=8)
    for name, w in phases:
        report = ntk_dispersion(erf_spec, x, [WIDTH], DEPTHS, seeds=SEEDS, hyperparameters={"sigma_w": w})
        s, _, fit_r2 = report.fit()
        chi = ntksym.derive(erf_spec).fixed_points(sigma_w=w).chi_1
        print(f"erf, w_std = {w:.3f} ({name}, chi_1 = {chi:.3f}): slope {s:.2f} (R^2 {fit_r2:.2f}); "
              f"dispersion at beta 0.5: {report.points[-1].diagonal:.3g}")
        right.semilogy([p.beta for p in report.points], [p.diagonal for p in report.points], "o-",
                       label=f"{name}, w_std {w:.2f}, chi_1 {chi:.2f}")
    right.set(xlabel="beta = depth / width", ylabel="E[Theta^2] / E[Theta]^2", title="erf, b_std = 0.1")
    right.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_atomic(Path(args.output), buffer.getvalue())
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
