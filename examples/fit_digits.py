"""Fit a ReLU MLP kernel's hyperparameters to scikit-learn's digits by the NNGP marginal likelihood.

    python examples/fit_digits.py

1000 training digits, 797 test (the split and unit-norm images of examples/sklearn_digits.py): w_std, b_std and the relative noise from the spec's values by BFGS with
gradients through the generated kernel (ntksym.runtime.hyperfit), the same optimum searched by scipy's
derivative-free Nelder-Mead from the same start, and the NNGP posterior's test accuracy before and after.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_digits

import ntksym
from ntksym.runtime.hyperfit import NOISE_FLOOR, accuracy, fit, negative_log_likelihood, targets

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


if __name__ == "__main__":
    np.set_printoptions(precision=6)
    main()
