"""Fit a ReLU MLP kernel's hyperparameters to scikit-learn's digits by the NNGP marginal likelihood.

    python examples/fit_digits.py

1000 training digits, 797 test (the split and unit-norm images of examples/sklearn_digits.py): w_std, b_std
and the relative noise from the spec's values by BFGS with
gradients through the generated kernel (ntksym.runtime.hyperfit), the same optimum searched by scipy's
derivative-free Nelder-Mead from the same start, and the NNGP posterior's test accuracy before and after;
then Adam from the same start (its fitting curve), the likelihood along w_std through the optimum, and the
5-fold cross-validated accuracy objective. Writes docs/fit_digits.png.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_digits

import ntksym
from ntksym.runtime.hyperfit import NOISE_FLOOR, accuracy, fit, fit_cv_accuracy, negative_log_likelihood, targets

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))  # examples/sklearn_digits.py's split
    x, y = data.data[order], data.target[order]
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    x_train, y_train, x_test, y_test = x[:1000], y[:1000], x[1000:], y[1000:]
    text = ((ROOT / "specs" / "relu_mlp.yaml").read_text().replace("input_shape: [8]", "input_shape: [64]")
            .replace("sigma_b: 0.0", "sigma_b: 0.1").replace("name: relu-mlp", "name: relu-mlp-digits"))
    spec = ntksym.parse_spec(text)
    start = time.perf_counter()
    result = fit(spec, x_train, y_train, text=text)
    seconds = time.perf_counter() - start
    print(f"BFGS ({seconds:.0f} s): log marginal likelihood {result.start_log_likelihood:.6f} -> {result.log_likelihood:.6f}")
    print("  start ", result.start, "\n  fitted", result.values)
    model = ntksym.compile(spec, dtype="float64")
    y_matrix = targets(y_train)

    def objective(theta):
        k = model.kernel(x_train, sigma_w=theta[0], sigma_b=theta[1]).nngp
        return float(negative_log_likelihood(k, y_matrix, NOISE_FLOOR + math.exp(theta[2])))

    start = time.perf_counter()
    nelder = minimize(objective, [result.start["sigma_w"], result.start["sigma_b"], math.log(result.start["noise"])],
                      method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 3000})
    seconds = time.perf_counter() - start
    relative = abs(-nelder.fun - result.log_likelihood) / abs(result.log_likelihood)
    print(f"Nelder-Mead ({seconds:.0f} s, {nelder.nfev} kernels): log marginal likelihood {-nelder.fun:.6f}; "
          f"relative difference from BFGS {relative:.2e}")
    before = accuracy(spec, x_train, y_train, x_test, y_test, result.start)
    after = accuracy(result.spec, x_train, y_train, x_test, y_test, result.values)
    print(f"NNGP posterior test accuracy: {100 * before:.2f} % at the spec's values, {100 * after:.2f} % fitted")

    start = time.perf_counter()
    adam = fit(spec, x_train, y_train, method="adam", steps=150, learning_rate=0.05, text=text)
    print(f"Adam, 150 steps ({time.perf_counter() - start:.0f} s): {adam.start_log_likelihood:.2f} -> "
          f"{adam.log_likelihood:.2f}", adam.values)
    w_grid = np.linspace(0.6, 1.6, 21) * result.values["sigma_w"]
    slice_values = [-objective([w, result.values["sigma_b"], math.log(result.values["noise"] - NOISE_FLOOR)])
                    for w in w_grid]

    start = time.perf_counter()
    cv = fit_cv_accuracy(spec, x_train, y_train, text=text)
    cv_test = accuracy(cv.spec, x_train, y_train, x_test, y_test, cv.values)
    print(f"5-fold CV accuracy search ({time.perf_counter() - start:.0f} s): {100 * cv.start_cv_accuracy:.2f} % -> "
          f"{100 * cv.cv_accuracy:.2f} %", cv.values, f"test accuracy {100 * cv_test:.2f} %")
    plot(adam.history, result.log_likelihood, w_grid, slice_values, result.values["sigma_w"], ROOT / "docs" / "fit_digits.png")


def plot(adam_history, bfgs_optimum, w_grid, slice_values, w_fitted, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=120)
    left.plot(np.arange(1, len(adam_history) + 1), adam_history, label="Adam (learning rate 0.05)")
    left.axhline(bfgs_optimum, color="k", linestyle="--", label="BFGS optimum")
    left.set_yscale("symlog", linthresh=1e3)
    left.set(xlabel="iteration", ylabel="log marginal likelihood", title="fitting curve, 1000 digits")
    left.legend()
    right.plot(w_grid, slice_values, "o-")
    right.axvline(w_fitted, color="k", linestyle="--", label=f"fitted w_std = {w_fitted:.3f}")
    right.set(xlabel="w_std (b_std and noise at their fitted values)", ylabel="log marginal likelihood",
              title="the likelihood along w_std")
    right.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    np.set_printoptions(precision=6)
    main()
