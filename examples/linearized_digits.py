"""Wide networks evolve as linear models (Lee et al. 2019), on scikit-learn's digits.

    python examples/linearized_digits.py [-o docs/linearized_digits.png] [--steps 200] [--seeds 2] [--lr 2]

A ReLU MLP with two hidden layers (specs/relu_mlp_digits.yaml, ntk parameterization) on 1000 training digits
and the 797 others as test set (examples/sklearn_digits.py's split and unit-norm images), trained with softmax
cross-entropy by SGD with momentum 0.9 (batches of 128, as Ortiz-Jimenez et al. 2021 train theirs) at widths
64 to 2048, side by side with its linearisation f_0 + J_0 (theta - theta_0) and the infinite-width NTK mean
(ntksym.compare_linearized). Prints per width the final distance RMS(f - f_lin) / RMS(f_lin) on the test
digits, the test accuracy of network, linearisation and kernel, the NTK's drift and kernel-target alignment,
and the fitted rate of log distance against log width (Lee et al. 2019: -1/2). float32 throughout.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import ntksym
from ntksym.plots.linearized import plot_summary

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = [64, 128, 256, 512, 1024, 2048]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "linearized_digits.png"))
    parser.add_argument("--report", help="Also write the report as JSON to this path.")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--lr", type=float, help="Learning rate (default: half the maximal stable rate of plain "
                                                 "descent times 1 - momentum).")
    args = parser.parse_args()
    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))  # examples/sklearn_digits.py's split
    x, y = data.data[order], data.target[order]
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    spec = ntksym.load_spec(ROOT / "specs" / "relu_mlp_digits.yaml")
    start = time.perf_counter()
    report = ntksym.compare_linearized(
        spec, x[:1000], y[:1000], x[1000:], y[1000:], widths=WIDTHS, steps=args.steps, learning_rate=args.lr,
        loss="cross_entropy", optimizer="momentum", momentum=0.9, batch_size=128, seeds=args.seeds,
        record_every=max(1, args.steps // 10), ntk_points=500)
    seconds = time.perf_counter() - start
    print(f"{spec.name}: {report.n_train} train / {report.n_test} test digits, cross-entropy, SGD with momentum "
          f"0.9, batch {report.batch_size}, learning rate {report.learning_rate[0]:.4g}, {args.steps} steps, "
          f"{report.seeds} seeds, {report.dtype}; {seconds:.0f} s")
    print(report.text())
    rate, _ = report.distance_fit()
    print(f"fitted: log distance = {rate:.3f} log width + const (Lee et al. 2019: -0.5); NTK drift rate "
          f"{report.drift_rate:.3f}")
    plot_summary(report, Path(args.output))
    print(f"wrote {args.output}")
    if args.report:
        Path(args.report).write_text(report.to_json())
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
