"""Training dynamics of the infinite ensemble: mean and covariance of its outputs at any times.

Lee et al. 2019, "Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent"
(gradient flow with the NTK, Eqs. 14-16; readout-only training with the NNGP); Jacot et al. 2018 (the NTK).
Loss sum((f - y)^2) / (2 N) with N = y.size = n k, as in neural-tangents. The jax implementation is
`ntksym.codegen.preludes.dynamics`, the same code every generated module carries; this module checks
inputs, turns results into numpy and warns when discrete gradient descent diverges.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from ntksym.codegen.preludes import dynamics as dynamics_prelude
from ntksym.errors import InputError
from ntksym.runtime.kernel import CompiledModel

KERNELS = ("ntk", "nngp", "both", "ntkgp")


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


@dataclass(frozen=True)
class Predictions:
    """Both kernels' predictions from one evaluation of the kernel blocks (kernel="both"), like `Kernel`."""

    nngp: Prediction
    ntk: Prediction


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
    """The one line that says discrete gradient descent at this rate diverges."""
    return (f"learning rate {learning_rate:g} is at or above the maximal stable rate {max_rate:.6g} "
            "= 2 n k / lambda_max: discrete gradient descent diverges (the loss grows without bound); "
            "use a smaller learning rate")


def max_learning_rate(k_train_train: ArrayLike, output_dim: int = 1, *, diag_reg: float = 0.0,
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
    return dynamics_prelude.max_rate(jnp.asarray(k), int(output_dim), float(diag_reg), bool(diag_reg_absolute))


def _check_cov(cov, compute_cov) -> bool:
    """`cov`, or its alias `compute_cov` when that is given (it wins); each must be True or False."""
    for name, value in (("cov", cov), ("compute_cov", compute_cov)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {value!r}")
    return bool(cov if compute_cov is None else compute_cov)


def _nngp_blocks(kernel, theta_dd, theta_td, nngp_train_train, nngp_test_train, nngp_test_test, k_test_test,
                 n, m, with_cov):
    """The NNGP blocks (train-train, test-train, test-test), checked; test-test None without a covariance."""
    if kernel == "nngp":
        k_dd, k_td = theta_dd, theta_td
        k_tt = nngp_test_test if nngp_test_test is not None else k_test_test
    elif kernel == "ntkgp":
        k_dd, k_td, k_tt = theta_dd, theta_td, k_test_test
    else:
        k_dd, k_td, k_tt = nngp_train_train, nngp_test_train, nngp_test_test
    if kernel == "both" and (k_dd is None or k_td is None):
        raise InputError('kernel="both" needs nngp_train_train and nngp_test_train (k_* are the NTK blocks)')
    if not with_cov or any(a is None for a in (k_dd, k_td, k_tt)):
        k_tt = None
    k_dd = None if k_dd is None else _matrix(k_dd, "nngp_train_train", (n, n))
    k_td = None if k_td is None else _matrix(k_td, "nngp_test_train", (m, n))
    return k_dd, k_td, None if k_tt is None else _matrix(k_tt, "nngp_test_test", (m, m))


def _solve(kernel: str, theta_dd, theta_td, k_dd, k_td, k_tt, y, yt, times, *, learning_rate, discrete,
           diag_reg, diag_reg_absolute, label: str = "") -> Prediction:
    """One kernel's Prediction from checked numpy blocks (`k_tt` None: no covariance)."""
    dtype = jnp.result_type(jnp.asarray(theta_dd).dtype, jnp.asarray(theta_td).dtype)

    def as_jax(a):
        return None if a is None else jnp.asarray(a, dtype)

    with_cov = k_tt is not None
    mean, train, cov, max_rate = dynamics_prelude.core(
        as_jax(theta_dd), as_jax(theta_td), as_jax(k_dd) if with_cov else None, as_jax(k_td) if with_cov else None,
        as_jax(k_tt), as_jax(y), jnp.asarray(times, dtype), jnp.asarray(learning_rate, dtype),
        jnp.asarray(diag_reg, dtype), absolute=bool(diag_reg_absolute), nngp=kernel in ("nngp", "ntkgp"),
        discrete=bool(discrete), with_cov=with_cov, all_infinite=bool(np.all(np.isinf(times))))
    max_rate = float(max_rate)
    if discrete and learning_rate >= max_rate:
        warnings.warn(label + divergence_message(learning_rate, max_rate), RuntimeWarning, stacklevel=3)
    mean, train = np.asarray(mean), np.asarray(train)
    test_loss = None if yt is None else _loss(mean, yt)
    return Prediction(times, mean, None if cov is None else np.asarray(cov), _loss(train, y), test_loss, max_rate,
                      kernel, train)


def predict_from_kernels(k_train_train: ArrayLike, k_test_train: ArrayLike, y_train: ArrayLike, t: ArrayLike, *,
                         nngp_train_train: ArrayLike | None = None, nngp_test_train: ArrayLike | None = None,
                         nngp_test_test: ArrayLike | None = None, kernel: str = "ntk",
                         learning_rate: float = 1.0, discrete: bool = False, diag_reg: float = 0.0,
                         diag_reg_absolute: bool = False, y_test: ArrayLike | None = None,
                         k_test_test: ArrayLike | None = None, cov: bool = True) -> Prediction | Predictions:
    """Dynamics from kernel matrices; `k_*` is the kernel that trains (the NTK, or the NNGP if kernel="nngp").

    kernel="ntkgp" (t = inf only): the posterior of the GP whose prior covariance is the NTK (He et al.
    2020, "Bayesian deep ensembles via the neural tangent kernel"; neural-tangents' get="ntkgp"): `k_*`
    are the NTK blocks and k_test_test the test-test NTK; mean = the NTK ensemble's mean at t = inf,
    cov = Theta(x, x) - Theta(x, X) Theta(X, X)^-1 Theta(X, x) (diag_reg as observation noise).

    The covariance needs the NNGP blocks: for kernel="ntk" all of nngp_train_train, nngp_test_train and
    nngp_test_test; for kernel="nngp" the test-test NNGP (nngp_test_test, or its alias k_test_test).
    Without them, or with cov=False, `cov` is None. kernel="both": `k_*` are the NTK blocks, the NNGP ones
    are required, and the result is `Predictions(nngp=..., ntk=...)`. diag_reg is added to the train
    kernel's diagonal (times its mean diagonal unless diag_reg_absolute); for the NNGP it acts as
    observation noise (t = inf: GP regression with noise).

        from ntksym.dynamics import predict_from_kernels
        p = predict_from_kernels(ntk_dd, ntk_td, y, [0, 10, np.inf], nngp_train_train=nngp_dd,
                                 nngp_test_train=nngp_td, nngp_test_test=nngp_tt, kernel="both")
        p.ntk.mean, p.nngp.cov
    """
    _check_options(kernel, learning_rate, diag_reg)
    with_cov = _check_cov(cov, None)
    theta_dd = _matrix(k_train_train, "k_train_train", (None, None))
    n = theta_dd.shape[0]
    if theta_dd.shape != (n, n):
        raise InputError(f"k_train_train: expected a square matrix, got shape {theta_dd.shape}")
    theta_td = _matrix(k_test_train, "k_test_train", (None, n))
    m = theta_td.shape[0]
    y = _targets(y_train, "y_train", n)
    times = _times(t, discrete)
    if kernel == "ntkgp" and not np.all(np.isinf(times)):
        raise InputError('kernel="ntkgp" is the NTK-GP posterior at t = inf only; give t=[np.inf] '
                         '(finite times: kernel="ntk" or "nngp")')
    k_dd, k_td, k_tt = _nngp_blocks(kernel, theta_dd, theta_td, nngp_train_train, nngp_test_train,
                                    nngp_test_test, k_test_test, n, m, with_cov)
    yt = None if y_test is None else _targets(y_test, "y_test", m)
    if yt is not None and yt.shape[1] != y.shape[1]:
        raise InputError(f"y_test has {yt.shape[1]} outputs but y_train has {y.shape[1]}; they must agree")
    options: dict[str, Any] = {"learning_rate": learning_rate, "discrete": discrete, "diag_reg": diag_reg,
               "diag_reg_absolute": diag_reg_absolute}
    if kernel != "both":
        return _solve(kernel, theta_dd, theta_td, k_dd, k_td, k_tt, y, yt, times, **options)
    return Predictions(_solve("nngp", k_dd, k_td, k_dd, k_td, k_tt, y, yt, times, label="NNGP: ", **options),
                       _solve("ntk", theta_dd, theta_td, k_dd, k_td, k_tt, y, yt, times, label="NTK: ", **options))


def predict(model: CompiledModel, x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, t: ArrayLike, *,
            kernel: str = "ntk", learning_rate: float = 1.0, discrete: bool = False, diag_reg: float = 0.0,
            diag_reg_absolute: bool = False, y_test: ArrayLike | None = None, cov: bool = True,
            compute_cov: bool | None = None, **hyperparameters: Any) -> Prediction | Predictions:
    """Train the infinite ensemble of `model`'s network on (x_train, y_train); predict on x_test at times t.

    t: times (np.inf allowed) of gradient flow at `learning_rate`, or with discrete=True the numbers of
    gradient-descent steps. kernel="ntk": all layers train; kernel="nngp": only the readout trains and
    t = inf is the exact GP posterior; kernel="both": the two, from one evaluation of the kernel blocks,
    as `Predictions(nngp=..., ntk=...)`; kernel="ntkgp" (t = inf): the NTK-GP posterior (He et al. 2020).
    cov=False (alias: compute_cov) skips the test-test kernel and
    the covariance. Example:

        model = ntksym.compile(ntksym.load_spec("specs/relu_mlp.yaml"), dtype="float64")
        p = ntksym.predict(model, x_train, y_train, x_test, [0, 1, 10, np.inf])
        p.mean[-1], p.cov[-1], p.train_loss
        both = ntksym.predict(model, x_train, y_train, x_test, [10, np.inf], kernel="both", cov=False)
        both.ntk.mean, both.nngp.mean
    """
    _check_options(kernel, learning_rate, diag_reg)
    with_cov = _check_cov(cov, compute_cov)
    train = model.kernel(x_train, None, **hyperparameters)
    y = _targets(y_train, "y_train", train.ntk.shape[0])
    cross = model.kernel(x_test, x_train, **hyperparameters)
    test = model.kernel(x_test, None, **hyperparameters) if with_cov else None
    trains = (lambda k: k.nngp) if kernel == "nngp" else (lambda k: k.ntk)
    return predict_from_kernels(
        trains(train), trains(cross), y, t, nngp_train_train=train.nngp, nngp_test_train=cross.nngp,
        nngp_test_test=None if test is None else test.nngp, kernel=kernel, learning_rate=learning_rate,
        k_test_test=None if test is None or kernel != "ntkgp" else test.ntk,
        discrete=discrete, diag_reg=diag_reg, diag_reg_absolute=diag_reg_absolute, y_test=y_test, cov=with_cov)
