"""Figures of `ntksym linearize`: loss and accuracy against steps per width (network, linearisation,
infinite-width mean), and the network's distance from its linearisation against width with its fitted
power law beside Lee et al.'s width^-1/2."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any  # the report: a LinearizedReport, which imports this module to save itself

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntksym.files import write_atomic  # noqa: E402
from ntksym.runtime.fit import LEE_ET_AL_RATE  # noqa: E402

STYLES = (("network", "-"), ("linearized", "--"))


def plot_curves(report: Any, path: Path) -> None:
    """One column per width: train/test loss (top) and test accuracy (bottom) against steps, means over seeds."""
    columns = len(report.widths)
    fig, axes = plt.subplots(2, columns, figsize=(3.2 * columns + 0.5, 5.5), dpi=110, squeeze=False, sharex=True)
    for i, width in enumerate(report.widths):
        top, bottom = axes[0, i], axes[1, i]
        for name, style in STYLES:
            curves = getattr(report, name)
            top.plot(report.steps, curves.train_loss[i].mean(0), style, color="C0", label=f"{name} train")
            top.plot(report.steps, curves.test_loss[i].mean(0), style, color="C1", label=f"{name} test")
            bottom.plot(report.steps, curves.test_accuracy[i].mean(0), style, color="C1", label=name)
        top.plot(report.steps, report.infinite.train_loss[i], ":", color="C0", label="infinite train")
        top.plot(report.steps, report.infinite.test_loss[i], ":", color="C1", label="infinite test")
        bottom.plot(report.steps, report.infinite.test_accuracy[i], ":", color="black", label="infinite")
        top.set_yscale("log")
        top.set_title(f"width {width}", fontsize=9)
        bottom.set_xlabel("step")
    axes[0, 0].set_ylabel(f"{report.loss} loss")
    axes[1, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=6)
    axes[1, 0].legend(fontsize=6)
    fig.suptitle(f"{report.spec_name}: network, linearisation and infinite width ({report.optimizer}, "
                 f"batch {report.batch_size})", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_distance(report: Any, path: Path) -> None:
    """Final RMS(f - f_lin) / RMS(f_lin) and NTK drift against width (log-log), with the fitted power law."""
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    draw_distance(report, ax)
    fig.tight_layout()
    _save(fig, path)


def draw_distance(report: Any, ax) -> None:
    widths = np.asarray(report.widths, np.float64)
    distance, drift = report.output_distance[:, :, -1], report.ntk_drift[:, :, -1]
    for j in range(report.seeds):
        ax.plot(widths, distance[:, j], "o", color="C0", alpha=0.35, markersize=4)
    ax.plot(widths, distance.mean(1), "o-", color="C0", label="output distance (mean over seeds)")
    ax.plot(widths, drift.mean(1), "s-", color="C2", label="NTK drift")
    rate, intercept = report.distance_fit()
    if np.isfinite(rate):
        ax.plot(widths, np.exp(intercept) * widths**rate, "--", color="black", label=f"fit: width^{rate:.2f}")
        ax.plot(widths, distance.mean(1)[0] * (widths / widths[0]) ** LEE_ET_AL_RATE, ":", color="grey",
                label="Lee et al. 2019: width^-1/2")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden width")
    ax.set_ylabel(f"at step {int(report.steps[-1])}")
    ax.set_title(f"{report.spec_name}: network vs its linearisation", fontsize=10)
    ax.legend(fontsize=7)


def plot_summary(report: Any, path: Path) -> None:
    """Three panels: distance and drift against width; test accuracy against steps at the narrowest and widest
    width beside the infinite-width mean; the empirical NTK's kernel-target alignment against steps per width."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2), dpi=110)
    draw_distance(report, left)
    for i in sorted({0, len(report.widths) - 1}):
        color = f"C{i % 10}"
        for name, style in STYLES:
            middle.plot(report.steps, getattr(report, name).test_accuracy[i].mean(0), style, color=color,
                        label=f"{name}, width {report.widths[i]}")
    middle.plot(report.steps, report.infinite.test_accuracy[0], ":", color="black", label="infinite width")
    middle.set(xlabel="step", ylabel="test accuracy", title="test accuracy (means over seeds)")
    middle.legend(fontsize=7)
    for i, width in enumerate(report.widths):
        right.plot(report.steps, report.alignment[i].mean(0), "-", color=f"C{i % 10}", label=f"width {width}")
    right.axhline(report.infinite_alignment[0], color="black", linestyle=":", label="analytic NTK")
    right.set(xlabel="step", ylabel="A(Theta_t, Y Y^T)", title="kernel-target alignment of the empirical NTK")
    right.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_atomic(Path(path), buffer.getvalue())
