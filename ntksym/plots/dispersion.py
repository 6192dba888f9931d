"""Figure of `ntksym dispersion`: log E[Theta^2] / E[Theta]^2 against beta = sum of 1/width, per width, with
the least-squares line and Hanin & Nica's exp(5 beta) for ReLU."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntksym.files import write_atomic  # noqa: E402
from ntksym.runtime.dispersion import HANIN_NICA_SLOPE, DispersionReport  # noqa: E402


def plot_dispersion(report: DispersionReport, path: Path, hanin_nica: bool = True) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    ax.set_yscale("log")
    for width in sorted({p.width for p in report.points}):
        points = [p for p in report.points if p.width == width]
        ax.plot([p.beta for p in points], [p.diagonal for p in points], "o", label=f"width {width}, Theta(x, x)")
        off = [(p.beta, p.off_diagonal) for p in points if np.isfinite(p.off_diagonal)]
        if off:
            ax.plot(*zip(*off, strict=True), "x", label=f"width {width}, Theta(x, x')")
    beta = np.array([p.beta for p in report.points])
    grid = np.linspace(0.0, beta.max() * 1.05, 50)
    if len(set(beta)) >= 2:
        slope, intercept, r2 = report.fit()
        ax.plot(grid, np.exp(intercept + slope * grid), "--", color="black",
                label=f"fit: exp({slope:.2f} beta), R^2 = {r2:.2f}")
    if hanin_nica:
        ax.plot(grid, np.exp(HANIN_NICA_SLOPE * grid), ":", color="grey", label="Hanin & Nica: exp(5 beta) (ReLU)")
    ax.set_xlabel("beta = sum over hidden layers of 1 / width")
    ax.set_ylabel("E[Theta^2] / E[Theta]^2")
    ax.set_title(f"NTK dispersion at initialisation: {report.spec}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_atomic(Path(path), buffer.getvalue())
