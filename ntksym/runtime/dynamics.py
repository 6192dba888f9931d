"""Training dynamics of the infinite ensemble: mean and covariance of its outputs at any times.

Lee et al. 2019, "Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent"
(gradient flow with the NTK, Eqs. 14-16; readout-only training with the NNGP); Jacot et al. 2018 (the NTK).
Loss sum((f - y)^2) / (2 N) with N = y.size = n k, as in neural-tangents. The jax implementation is
`ntksym.codegen.prelude_dynamics`, the same code every generated module carries; this module checks
inputs, turns results into numpy and warns when discrete gradient descent diverges.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ntksym.codegen.prelude_dynamics import _dyn_core, _dyn_max_rate
from ntksym.errors import InputError
from ntksym.runtime.kernel import CompiledModel

KERNELS = ("ntk", "nngp")


@dataclass(frozen=True)
class Prediction:
    """Outputs of the infinite ensemble at the times `t` (T,), test points m, outputs k, train points n.

    `mean` (T, m, k); `cov` (T, m, m), shared by the k outputs, or None; `train_loss` and `test_loss` (T,):
    loss of the mean prediction, sum((mean - y)^2) / (2 y.size); `max_learning_rate` = 2 n k / lambda_max
    of the (regularised) train kernel; `train_mean` (T, n, k): the mean on the training inputs.
    """

    t: np.ndarray
    mean: np.ndarray
    cov: np.ndarray | None
    train_loss: np.ndarray
    test_loss: np.ndarray | None
    max_learning_rate: float
    kernel: str
    train_mean: np.ndarray | None = None


def _matrix(a, name: str, shape: tuple[int | None, int | None]) -> np.ndarray:
    array = np.asarray(a)
    if array.ndim != 2 or any(w is not None and g != w for g, w in zip(array.shape, shape, strict=True)):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{name}: expected shape {want}, got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise InputError(f"{name}: must hold finite numbers (found NaN, infinity or non-numbers)")
    return array


def _targets(y, name: str, n: int) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != n:
        raise InputError(f"{name}: expected shape ({n}, outputs) to match {n} inputs, got {np.shape(y)}")
    return _matrix(array, name, (n, None))


def _times(t, discrete: bool) -> np.ndarray:
    try:
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"t: expected numbers (times >= 0, inf allowed), got {t!r}") from None
    if times.ndim != 1 or times.size == 0:
        raise InputError(f"t: expected a non-empty list of times, got shape {np.shape(t)}")
    if np.any(np.isnan(times)) or np.any(times < 0):
        raise InputError("t: times must be >= 0 (inf allowed); got " + ", ".join(map(str, times[:8])))
    finite = times[np.isfinite(times)]
    if discrete and np.any(finite != np.round(finite)):
        raise InputError("t: with discrete gradient descent, times count steps and must be whole numbers")
    return times


def _check_options(kernel: str, learning_rate: float, diag_reg: float) -> None:
    if kernel not in KERNELS:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise InputError(f"learning_rate must be a positive number, got {learning_rate}")
    if not (np.isfinite(diag_reg) and diag_reg >= 0):
        raise InputError(f"diag_reg must be a number >= 0, got {diag_reg}")


def _loss(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sum((f - y)^2) / (2 y.size) per time; inf once a diverging run has overflowed (never NaN)."""
    with np.errstate(over="ignore", invalid="ignore"):
        loss = np.sum((f - y[None]) ** 2, axis=(1, 2)) / (2 * y.size)
    return np.where(np.all(np.isfinite(f), axis=(1, 2)), loss, np.inf)


def divergence_message(learning_rate: float, max_rate: float) -> str:
    return (f"learning rate {learning_rate:g} is at or above the maximal stable rate {max_rate:.6g} "
            "= 2 n k / lambda_max: discrete gradient descent diverges (the loss grows without bound); "
            "use a smaller learning rate")


def max_learning_rate(k_train_train, output_dim: int = 1, *, diag_reg: float = 0.0,
                      diag_reg_absolute: bool = False) -> float:
    """2 n k / lambda_max: gradient descent on the loss sum((f-y)^2)/(2 n k) is stable below this rate.

    (I - eta Theta / (n k))^t contracts iff eta lambda_max / (n k) < 2 (Lee et al. 2019, Sec. 2.4).
    """
    k = _matrix(k_train_train, "k_train_train", (None, None))
    if k.shape[0] != k.shape[1]:
        raise InputError(f"k_train_train: expected a square matrix, got shape {k.shape}")
    if int(output_dim) != output_dim or output_dim < 1:
        raise InputError(f"output_dim must be a positive whole number, got {output_dim}")
    _check_options("ntk", 1.0, diag_reg)
    return _dyn_max_rate(jnp.asarray(k), int(output_dim), float(diag_reg), bool(diag_reg_absolute))


def predict_from_kernels(k_train_train, k_test_train, y_train, t, *, nngp_train_train=None,
                         nngp_test_train=None, nngp_test_test=None, kernel: str = "ntk",
                         learning_rate: float = 1.0, discrete: bool = False, diag_reg: float = 0.0,
                         diag_reg_absolute: bool = False, y_test=None, k_test_test=None) -> Prediction:
    """Dynamics from kernel matrices; `k_*` is the kernel that trains (the NTK, or the NNGP if kernel="nngp").

    The covariance needs the NNGP blocks: for kernel="ntk" all of nngp_train_train, nngp_test_train and
    nngp_test_test; for kernel="nngp" the test-test NNGP (nngp_test_test, or its alias k_test_test).
    Without them `cov` is None. diag_reg is added to the train kernel's diagonal (times its mean diagonal
    unless diag_reg_absolute); for the NNGP it acts as observation noise (t = inf: GP regression with noise).
    """
    _check_options(kernel, learning_rate, diag_reg)
    theta_dd = _matrix(k_train_train, "k_train_train", (None, None))
    n = theta_dd.shape[0]
    if theta_dd.shape != (n, n):
        raise InputError(f"k_train_train: expected a square matrix, got shape {theta_dd.shape}")
    theta_td = _matrix(k_test_train, "k_test_train", (None, n))
    m = theta_td.shape[0]
    y = _targets(y_train, "y_train", n)
    times = _times(t, discrete)
    if kernel == "nngp":
        k_dd, k_td = theta_dd, theta_td
        k_tt = nngp_test_test if nngp_test_test is not None else k_test_test
    else:
        k_dd, k_td, k_tt = nngp_train_train, nngp_test_train, nngp_test_test
    with_cov = all(a is not None for a in (k_dd, k_td, k_tt))
    if with_cov:
        k_dd = _matrix(k_dd, "nngp_train_train", (n, n))
        k_td = _matrix(k_td, "nngp_test_train", (m, n))
        k_tt = _matrix(k_tt, "nngp_test_test", (m, m))
    yt = None if y_test is None else _targets(y_test, "y_test", m)
    if yt is not None and yt.shape[1] != y.shape[1]:
        raise InputError(f"y_test has {yt.shape[1]} outputs but y_train has {y.shape[1]}; they must agree")
    dtype = jnp.result_type(jnp.asarray(theta_dd).dtype, jnp.asarray(theta_td).dtype)

    def as_jax(a):
        return None if a is None else jnp.asarray(a, dtype)

    mean, train, cov, max_rate = _dyn_core(
        as_jax(theta_dd), as_jax(theta_td), as_jax(k_dd), as_jax(k_td), as_jax(k_tt), as_jax(y),
        jnp.asarray(times, dtype), jnp.asarray(learning_rate, dtype), jnp.asarray(diag_reg, dtype),
        absolute=bool(diag_reg_absolute), nngp=kernel == "nngp", discrete=bool(discrete), with_cov=with_cov)
    max_rate = float(max_rate)
    if discrete and learning_rate >= max_rate:
        warnings.warn(divergence_message(learning_rate, max_rate), RuntimeWarning, stacklevel=2)
    mean, train = np.asarray(mean), np.asarray(train)
    train_loss = _loss(train, y)
    test_loss = None if yt is None else _loss(mean, yt)
    return Prediction(times, mean, None if cov is None else np.asarray(cov), train_loss, test_loss, max_rate,
                      kernel, train)


def predict(model: CompiledModel, x_train, y_train, x_test, t, *, kernel: str = "ntk",
            learning_rate: float = 1.0, discrete: bool = False, diag_reg: float = 0.0,
            diag_reg_absolute: bool = False, y_test=None, compute_cov: bool = True,
            **hyperparameters) -> Prediction:
    """Train the infinite ensemble of `model`'s network on (x_train, y_train); predict on x_test at times t.

    t: times (np.inf allowed) of gradient flow at `learning_rate`, or with discrete=True the numbers of
    gradient-descent steps. kernel="ntk": all layers train; kernel="nngp": only the readout trains and
    t = inf is the exact GP posterior. Example:

        model = ntksym.compile(ntksym.load_spec("specs/relu_mlp.yaml"), dtype="float64")
        p = ntksym.predict(model, x_train, y_train, x_test, [0, 1, 10, np.inf])
        p.mean[-1], p.cov[-1], p.train_loss
    """
    _check_options(kernel, learning_rate, diag_reg)
    train = model.kernel(x_train, None, **hyperparameters)
    y = _targets(y_train, "y_train", train.ntk.shape[0])
    cross = model.kernel(x_test, x_train, **hyperparameters)
    test = model.kernel(x_test, None, **hyperparameters) if compute_cov else None
    pick = (lambda k: k.nngp) if kernel == "nngp" else (lambda k: k.ntk)
    return predict_from_kernels(
        pick(train), pick(cross), y, t, nngp_train_train=train.nngp if compute_cov else None,
        nngp_test_train=cross.nngp if compute_cov else None,
        nngp_test_test=None if test is None else test.nngp,
        kernel=kernel, learning_rate=learning_rate, discrete=discrete, diag_reg=diag_reg,
        diag_reg_absolute=diag_reg_absolute, y_test=y_test)
