"""The order-to-chaos phase diagram: chi_1 over (w_std, b_std), the edge of chaos, the spec's point.

Poole et al. 2016 (Fig. 3) and Schoenholz et al. 2017 (Fig. 1) draw the same diagram for tanh.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only: never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402


def phase_png(
    w_values: np.ndarray,
    b_values: np.ndarray,
    chi_1: np.ndarray,
    critical_w: np.ndarray,
    point: tuple[float, float],
    title: str,
) -> bytes:
    """The diagram as PNG bytes. chi_1 has shape (len(b_values), len(w_values)); NaN where
    the length map has no finite fixed point (hatched)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    finite = chi_1[np.isfinite(chi_1)]
    top = max(float(finite.max()) if finite.size else 2.0, 1.0 + 1e-6)
    bottom = min(float(finite.min()) if finite.size else 0.0, 1.0 - 1e-6)
    norm = TwoSlopeNorm(vmin=bottom, vcenter=1.0, vmax=top)
    mesh = ax.pcolormesh(
        w_values, b_values, np.ma.masked_invalid(chi_1), cmap="RdBu_r", norm=norm, shading="auto"
    )
    if np.isnan(chi_1).any():
        ax.contourf(
            w_values,
            b_values,
            np.isnan(chi_1).astype(float),
            levels=[0.5, 1.5],
            colors="none",
            hatches=["//"],
        )
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(r"$\chi_1 = \sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*}z)^2]$")
    ok = np.isfinite(critical_w)
    ax.plot(critical_w[ok], b_values[ok], color="black", lw=2, label=r"edge of chaos ($\chi_1 = 1$)")
    ax.plot([point[0]], [point[1]], marker="*", ms=14, color="gold", mec="black", ls="none", label="spec")
    ax.set_xlabel(r"$\sigma_w$ (w_std of the repeated dense layer)")
    ax.set_ylabel(r"$\sigma_b$ (b_std)")
    ax.set_xlim(w_values.min(), w_values.max())
    ax.set_ylim(b_values.min(), b_values.max())
    ax.text(
        0.03, 0.95, "ordered", transform=ax.transAxes, va="top", fontsize=11, color="white", weight="bold"
    )
    ax.text(
        0.97, 0.05, "chaotic", transform=ax.transAxes, ha="right", fontsize=11, color="white", weight="bold"
    )
    ax.set_title(title)
    ax.legend(loc="lower left" if point[1] > np.mean(b_values) else "upper right", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
