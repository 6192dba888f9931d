"""Loss curves of the infinite ensemble over training time, as a PNG (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntksym.files import write_atomic  # noqa: E402

if TYPE_CHECKING:
    from ntksym.runtime.dynamics import Prediction, Predictions


def _curves(prediction) -> list[tuple[str, np.ndarray, str]]:
    """(label, loss, colour) for the train and test losses; both kernels' for a `Predictions`."""
    parts = [("", prediction)] if not hasattr(prediction, "ntk") else [("NTK ", prediction.ntk),
                                                                        ("NNGP ", prediction.nngp)]
    curves, colours = [], iter(f"C{i}" for i in range(8))
    for prefix, part in parts:
        curves.append((f"{prefix}train", part.train_loss, next(colours)))
        if part.test_loss is not None:
            curves.append((f"{prefix}test", part.test_loss, next(colours)))
    return curves


def plot_loss_curves(prediction: Prediction | Predictions, path: Path, *, title: str | None = None, steps: bool = False) -> Path:
    """Train (and test) loss of the mean prediction against time; t = 0 and t = inf drawn as markers.

    Positive finite times go on a logarithmic axis; t = 0 sits at its left edge and t = inf is a dashed
    horizontal line (its value is the limit the curve tends to). `prediction`: a `Prediction`, or a
    `Predictions` (kernel="both"), whose NTK and NNGP curves share the figure.
    """
    single = prediction.ntk if hasattr(prediction, "ntk") else prediction
    t = np.asarray(single.t, dtype=float)
    curves = _curves(prediction)
    positive = np.isfinite(t) & (t > 0)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    left = t[positive].min() / 3 if positive.any() else 1.0
    for label, loss, color in curves:
        loss = np.asarray(loss, dtype=float)
        order = np.argsort(np.where(t == 0, left, t))
        finite = np.isfinite(t)[order]
        xs = np.where(t == 0, left, t)[order][finite]
        ax.plot(xs, loss[order][finite], "-o", color=color, markersize=3, label=f"{label} loss")
        for value in loss[np.isinf(t)]:
            ax.axhline(value, color=color, linestyle="--", linewidth=1, label=f"{label} loss at t = inf")
    ax.set_xscale("log")
    finite_values = np.concatenate([np.asarray(c[1], dtype=float)[np.isfinite(t)] for c in curves])
    finite_values = finite_values[np.isfinite(finite_values)]
    if finite_values.size and np.all(finite_values > 0):
        ax.set_yscale("log")
        # a t = inf loss of 1e-30 (exact interpolation) would squash the curves: clip below them
        ax.set_ylim(bottom=finite_values.min() / 5)
    ax.set_xlabel("gradient-descent steps" if steps else "training time t (learning rate x time)")
    ax.set_ylabel("loss of the mean,  sum((f - y)^2) / (2 n k)")
    kernel = "NTK and NNGP" if single is not prediction else prediction.kernel.upper()
    ax.set_title(title or f"infinite ensemble, {kernel} dynamics")
    if (t == 0).any():
        ax.annotate("t = 0", (left, 0), xycoords=("data", "axes fraction"), xytext=(2, 4),
                    textcoords="offset points", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_atomic(Path(path), buffer.getvalue())
    return Path(path)
