"""The result of `ntksym.check`: per-width, per-seed measurements, fitted rates, JSON and plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntksym.files import write_atomic, write_folder_atomic
from ntksym.runtime.fit import fit_rate


def _summary(values: np.ndarray) -> dict:
    values = np.asarray(values, np.float64)
    empty = values.shape[1] == 0 or np.all(np.isnan(values))
    return {
        "mean": [None] * len(values) if empty else np.nanmean(values, axis=1).tolist(),
        "std": [None] * len(values) if empty else np.nanstd(values, axis=1).tolist(),
        "values": [[None if np.isnan(v) else float(v) for v in row] for row in values],
    }


@dataclass(frozen=True)
class CheckReport:
    spec_name: str
    parameterization: str
    dtype: str
    widths: list[int]
    seeds: int
    n_train: int
    n_test: int
    outputs: int
    samples: int  # networks per Monte Carlo NNGP estimate
    train_steps: int
    train_seeds: int
    learning_rate: list[float]  # per width
    max_stable_learning_rate: list[float]  # 2 n k / lambda_max of the analytic NTK, per width
    ntk_rel_error: np.ndarray  # (widths, seeds)
    nngp_rel_error: np.ndarray  # (widths, seeds)
    ntk_drift: np.ndarray  # (widths, train_seeds)
    prediction_gap: np.ndarray  # (widths, train_seeds)
    final_train_loss: np.ndarray  # (widths, train_seeds)
    seconds: float

    @property
    def ntk_error_rate(self) -> float:
        return fit_rate(self.widths, self.ntk_rel_error)[0]

    @property
    def nngp_error_rate(self) -> float:
        return fit_rate(self.widths, self.nngp_rel_error)[0]

    @property
    def drift_rate(self) -> float:
        return fit_rate(self.widths, self.ntk_drift)[0]

    def to_dict(self) -> dict:
        return {
            "spec": self.spec_name,
            "parameterization": self.parameterization,
            "dtype": self.dtype,
            "widths": list(self.widths),
            "seeds": self.seeds,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "outputs": self.outputs,
            "nngp_samples": self.samples,
            "ntk_rel_error": _summary(self.ntk_rel_error),
            "nngp_rel_error": _summary(self.nngp_rel_error),
            "ntk_error_rate": _num(self.ntk_error_rate),
            "nngp_error_rate": _num(self.nngp_error_rate),
            "train_steps": self.train_steps,
            "train_seeds": self.train_seeds,
            "learning_rate": list(self.learning_rate),
            "max_stable_learning_rate": list(self.max_stable_learning_rate),
            "ntk_drift": _summary(self.ntk_drift),
            "drift_rate": _num(self.drift_rate),
            "prediction_gap": _summary(self.prediction_gap),
            "final_train_loss": _summary(self.final_train_loss),
            "seconds": round(self.seconds, 2),
        }

    def text(self) -> str:
        """A short table for the terminal."""
        d = self.to_dict()
        lines = [f"{'width':>7} {'NTK err':>16} {'NNGP err':>16} {'drift':>16} {'pred gap':>16}"]
        for i, w in enumerate(self.widths):
            cells = [
                _cell(d[key], i) for key in ("ntk_rel_error", "nngp_rel_error", "ntk_drift", "prediction_gap")
            ]
            lines.append(f"{w:>7} " + " ".join(f"{c:>16}" for c in cells))
        def rate(value: float) -> str:
            return "- (not measured)" if value != value else f"{value:+.3f}"

        lines.append(
            f"fitted rates (log-log): NTK error {rate(self.ntk_error_rate)}, "
            f"NNGP error {rate(self.nngp_error_rate)}, drift {rate(self.drift_rate)}  (theory about -0.5)"
        )
        return "\n".join(lines)

    def save(self, folder: Path) -> list[Path]:
        """Write report.json and the figures into `folder`; returns the paths written."""
        from ntksym.plots.check import plot_check

        folder = Path(folder)

        def write(target: Path) -> list[Path]:
            path = target / "report.json"
            write_atomic(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
            return [path, *plot_check(self, target)]

        return write_folder_atomic(folder, write)


def _num(value: float) -> float | None:
    """JSON has no NaN: a rate that could not be fitted is null."""
    return None if not np.isfinite(value) else float(value)


def _cell(summary: dict, i: int) -> str:
    mean, std = summary["mean"][i], summary["std"][i]
    return "-" if mean is None else f"{mean:.4f}+-{std:.4f}"
