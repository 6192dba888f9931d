"""Timings of the dynamics core: one eigendecomposition for many times vs one per time.

Prints the time of `predict_from_kernels` for n train points and T times (after compilation), and the
ratio against solving each time separately, measured in one run.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from ntksym.runtime.dynamics import predict_from_kernels


def _kernels(n: int, m: int, rng) -> tuple[np.ndarray, ...]:
    x = rng.normal(size=(n + m, 16))
    k = np.tanh(x @ x.T / 16) + 0.1  # a smooth positive definite kernel, stand-in for an NTK
    return k[:n, :n], k[n:, :n], k[n:, n:]


def _timed(fn, repeat: int = 3) -> float:
    fn()  # compile
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    for n, m, steps in ((256, 64, 32), (1024, 128, 32)):
        dd, td, tt = _kernels(n, m, rng)
        y = rng.normal(size=(n, 1))
        times = np.concatenate([[0.0], np.logspace(-1, 4, steps - 2), [np.inf]])

        def run(t, dd=dd, td=td, tt=tt, y=y):
            return predict_from_kernels(dd, td, y, t, nngp_train_train=dd, nngp_test_train=td,
                                        nngp_test_test=tt).mean

        together = _timed(lambda times=times: run(times))
        one = _timed(lambda times=times: run(times[1:2]))
        print(f"n={n:5d} m={m:4d}: {steps} times in one call {together * 1e3:8.1f} ms; one time "
              f"{one * 1e3:7.1f} ms; per-time calls would take {steps * one * 1e3:8.1f} ms "
              f"(ratio {steps * one / together:5.1f}x)")


if __name__ == "__main__":
    main()
