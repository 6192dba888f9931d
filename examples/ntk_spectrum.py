"""The NTK's spectrum on digits and gradient flow along its eigendirections (why early stopping works).

    python examples/ntk_spectrum.py

500 training digits (ntksym.runtime.datasets' `digits`), the five-layer ReLU MLP of specs/relu_mlp.yaml on 64
features: eigenvalues of the analytic NTK beside those of finite networks' empirical NTKs at initialisation
(widths 256 and 2048), and the residual of the infinite ensemble's gradient flow along eigenvectors 1, 10, 50
and 200, each decaying as exp(-lambda_i t / (n k)) (ntksym/runtime/spectrum.py). Writes docs/ntk_spectrum.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ntksym
from ntksym.runtime.datasets import load_dataset
from ntksym.runtime.spectrum import empirical_spectrum, ntk_spectrum

ROOT = Path(__file__).resolve().parent.parent
DIRECTIONS = (0, 9, 49, 199)


def main() -> None:
    digits = load_dataset("digits")
    x, y = digits.x_train[:500], digits.y_train[:500]
    spec = ntksym.parse_spec((ROOT / "specs" / "relu_mlp.yaml").read_text().replace("input_shape: [8]", "input_shape: [64]"))
    times = np.logspace(0, 7, 57)
    analytic = ntk_spectrum(ntksym.compile(spec, dtype="float64"), x, y, times)
    empirical = {w: empirical_spectrum(spec, x, y, [0.0], width=w, seed=0) for w in (256, 2048)}
    print("eigenvalue       analytic   width 256  width 2048")
    for i in DIRECTIONS:
        print(f"lambda_{i + 1:<4}  {analytic.eigenvalues[i]:10.4g}  {empirical[256].eigenvalues[i]:10.4g}  "
              f"{empirical[2048].eigenvalues[i]:10.4g}")
    share = analytic.projections**2 / np.sum(analytic.projections**2)
    print(f"targets' share on the top 10 eigenvectors: {share[:10].sum():.3f}, top 50: {share[:50].sum():.3f}")
    for t in (1e2, 1e4, 1e6):
        j = int(np.argmin(np.abs(times - t)))
        print(f"t = {t:.0e}: learnt fraction of the targets {analytic.learnt_fraction()[j]:.3f}")
    plot(analytic, empirical, ROOT / "docs" / "ntk_spectrum.png")


def plot(analytic, empirical, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=120)
    rank = np.arange(1, len(analytic.eigenvalues) + 1)
    left.loglog(rank, analytic.eigenvalues, "k-", label="analytic NTK")
    for width, spectrum in empirical.items():
        left.loglog(rank, np.maximum(spectrum.eigenvalues, 1e-12), ".", markersize=3, label=f"empirical, width {width}")
    left.set(xlabel="rank i", ylabel="eigenvalue lambda_i", title="NTK spectrum, 500 digits")
    left.legend()
    for i in DIRECTIONS:
        right.semilogx(analytic.times, analytic.residuals[:, i] / analytic.projections[i], label=f"direction {i + 1}")
    right.semilogx(analytic.times, 1 - analytic.learnt_fraction(), "k--", label="all targets")
    right.set(xlabel="training time t (learning rate 1)", ylabel="residual / initial residual",
              title="gradient flow per eigendirection")
    right.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
