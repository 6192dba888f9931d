"""Figures of `ntksym check`: kernel error vs width (log-log, fitted line), drift and prediction gap."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any  # the report: a CheckReport, which imports this module to save itself

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntksym.files import write_atomic  # noqa: E402
from ntksym.runtime.fit import fit_rate  # noqa: E402


def _errorbars(ax, widths, values, label, color, marker="o"):
    values = np.asarray(values, np.float64)
    if values.size == 0 or np.all(np.isnan(values)):
        return False
    mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
    ax.errorbar(widths, mean, yerr=std, fmt=marker, color=color, capsize=3, label=f"{label} (mean +- std)")
    ax.scatter(np.repeat(widths, values.shape[1]), values.ravel(), s=6, color=color, alpha=0.3)
    slope, intercept = fit_rate(widths, values)
    if np.isfinite(slope):
        grid = np.geomspace(min(widths), max(widths), 50)
        ax.plot(
            grid, np.exp(intercept) * grid**slope, "--", color=color, label=f"{label} fit: width^{slope:.2f}"
        )
    return True


def _axes(title, ylabel):
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden width")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _save(fig, path: Path) -> Path:
    """PNG bytes written atomically: a reader never sees half a figure."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
    return path


def plot_check(report: Any, folder: Path) -> list[Path]:
    """error_vs_width.png, drift_vs_width.png, prediction_gap_vs_width.png (the last two when trained)."""
    folder = Path(folder)
    widths = np.asarray(report.widths, np.float64)
    fig, ax = _axes(
        f"{report.spec_name}: empirical vs analytic kernels ({report.seeds} seeds, n={report.n_train})",
        "relative Frobenius error",
    )
    _errorbars(ax, widths, report.ntk_rel_error, "NTK", "C0")
    _errorbars(ax, widths, report.nngp_rel_error, f"NNGP (MC, {report.samples} nets)", "C1", "s")
    ref = np.nanmean(report.ntk_rel_error[0])
    ax.plot(widths, ref * (widths / widths[0]) ** -0.5, ":", color="gray", label="width^-0.5 (theory)")
    ax.legend(fontsize=7)
    paths = [_save(fig, folder / "error_vs_width.png")]
    training_figures = (
        (f"NTK drift after {report.train_steps} GD steps", "||Theta_T - Theta_0|| / ||Theta_0||",
         report.ntk_drift, "drift", "C2", "drift_vs_width.png"),
        ("trained net vs infinite-width prediction (test inputs)", "||f_T - f_inf|| / ||f_inf||",
         report.prediction_gap, "prediction gap", "C3", "prediction_gap_vs_width.png"),
    )
    for title, ylabel, values, label, color, name in training_figures:
        fig, ax = _axes(f"{report.spec_name}: {title}", ylabel)
        if _errorbars(ax, widths, values, label, color):  # nothing to draw without training
            ax.legend(fontsize=7)
            paths.append(_save(fig, folder / name))
        else:
            plt.close(fig)
    return paths
