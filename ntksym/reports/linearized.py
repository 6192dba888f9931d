"""The result of `ntksym.runtime.linearized.compare_linearized`: curves per width, seed and recorded step,
the fitted rate of the network's distance from its linearisation, JSON, a table and the figures."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ntksym.files import write_atomic, write_folder_atomic
from ntksym.runtime.fit import LEE_ET_AL_RATE, fit_rate


@dataclass(frozen=True)
class Curves:
    """Loss and accuracy at the recorded steps: arrays (widths, seeds, steps), or (widths, steps) for the
    infinite-width mean, which has no seeds."""

    train_loss: np.ndarray
    test_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray

    def to_dict(self) -> dict:
        return {f.name: _nested(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class LinearizedReport:
    spec_name: str
    parameterization: str
    dtype: str
    loss: str
    optimizer: str
    momentum: float  # 0 for plain descent
    batch_size: int  # n_train for full batch
    learning_rate: list[float]  # per width
    max_stable_learning_rate: list[float]  # 2 n k / lambda_max of the analytic NTK, per width
    widths: list[int]
    seeds: int
    n_train: int
    n_test: int
    outputs: int
    ntk_points: int  # training inputs on which the NTK's drift and alignment are measured
    steps: np.ndarray  # (T,) the recorded steps
    network: Curves
    linearized: Curves
    infinite: Curves
    output_distance: np.ndarray  # (widths, seeds, T) RMS(f - f_lin) / RMS(f_lin) on the test inputs
    ntk_drift: np.ndarray  # (widths, seeds, T) ||Theta_t - Theta_0||_F / ||Theta_0||_F
    alignment: np.ndarray  # (widths, seeds, T) A(Theta_t, Y) of the network's empirical NTK
    infinite_alignment: np.ndarray  # (widths,) A(Theta, Y) of the analytic NTK
    seconds: float

    def distance_fit(self) -> tuple[float, float]:
        """(rate, intercept): log(mean over seeds of the final output distance) against log(width)."""
        return fit_rate(self.widths, self.output_distance[:, :, -1])

    @property
    def distance_rate(self) -> float:
        return self.distance_fit()[0]

    @property
    def drift_rate(self) -> float:
        return fit_rate(self.widths, self.ntk_drift[:, :, -1])[0]

    def to_dict(self) -> dict:
        rate, intercept = self.distance_fit()
        return {
            "spec": self.spec_name,
            "parameterization": self.parameterization,
            "dtype": self.dtype,
            "loss": self.loss,
            "optimizer": self.optimizer,
            "momentum": self.momentum,
            "batch_size": self.batch_size,
            "learning_rate": list(self.learning_rate),
            "max_stable_learning_rate": list(self.max_stable_learning_rate),
            "widths": list(self.widths),
            "seeds": self.seeds,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "outputs": self.outputs,
            "ntk_points": self.ntk_points,
            "steps": [int(t) for t in self.steps],
            "network": self.network.to_dict(),
            "linearized": self.linearized.to_dict(),
            "infinite": self.infinite.to_dict(),
            "output_distance": _nested(self.output_distance),
            "ntk_drift": _nested(self.ntk_drift),
            "alignment": _nested(self.alignment),
            "infinite_alignment": _nested(self.infinite_alignment),
            "distance_fit": {"rate": _number(rate), "intercept": _number(intercept), "lee_et_al_rate": LEE_ET_AL_RATE},
            "drift_rate": _number(self.drift_rate),
            "seconds": round(self.seconds, 2),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def text(self) -> str:
        """Per width, at the last step (means over seeds): output distance, test accuracies, NTK drift and
        alignment; then the fitted rate of the distance."""
        lines = [f"{'width':>7} {'distance':>10} {'net acc':>8} {'lin acc':>8} {'kernel acc':>10} {'drift':>8} "
                 f"{'align':>6} {'align 0':>7} {'align inf':>9}"]
        for i, width in enumerate(self.widths):
            cells = (self.output_distance[i, :, -1].mean(), self.network.test_accuracy[i, :, -1].mean(),
                     self.linearized.test_accuracy[i, :, -1].mean(), self.infinite.test_accuracy[i, -1],
                     self.ntk_drift[i, :, -1].mean(), self.alignment[i, :, -1].mean(), self.alignment[i, :, 0].mean(),
                     self.infinite_alignment[i])
            lines.append(f"{width:>7} {cells[0]:>10.4g} {cells[1]:>8.4f} {cells[2]:>8.4f} {cells[3]:>10.4f} "
                         f"{cells[4]:>8.4g} {cells[5]:>6.3f} {cells[6]:>7.3f} {cells[7]:>9.3f}")
        rate = self.distance_rate
        shown = "- (needs two widths)" if rate != rate else f"{rate:+.3f}"
        lines.append(f"output distance ~ width^rate: rate {shown} (Lee et al. 2019: {LEE_ET_AL_RATE:g})")
        return "\n".join(lines)

    def save(self, folder: Path) -> list[Path]:
        """Write report.json, curves.png and distance.png into `folder` (appearing whole); the paths written."""
        from ntksym.plots.linearized import plot_curves, plot_distance

        def write(target: Path) -> list[Path]:
            paths = [target / "report.json", target / "curves.png", target / "distance.png"]
            write_atomic(paths[0], self.to_json())
            plot_curves(self, paths[1])
            plot_distance(self, paths[2])
            return paths

        return write_folder_atomic(Path(folder), write)


def _number(value: float) -> float | None:
    """JSON has no NaN: a value not measured (or a rate not fitted) is null."""
    return float(value) if np.isfinite(value) else None


def _nested(values: np.ndarray) -> list:
    return np.vectorize(_number, otypes=[object])(np.asarray(values, np.float64)).tolist()
