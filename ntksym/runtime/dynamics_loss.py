"""Function-space training with any loss: MSE or softmax cross-entropy, gradient flow or descent, momentum.

The outputs on the training inputs X and test inputs x follow df/dt = -eta Theta(., X) dL/df(X)
(Lee et al. 2019, "Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent",
Sec. 2), with Theta the NTK shared by the k outputs (traced over them) - the infinite-width NTK of a
spec, or a finite network's empirical NTK. Losses, normalised by y.size = n k as for MSE elsewhere:

    mse            L = sum((f - y)^2) / (2 n k)          dL/df = (f - y) / (n k)
    cross_entropy  L = -sum(y * log_softmax(f)) / (n k)  dL/df = (softmax(f) sum_c y_c - y) / (n k)

Conventions follow neural-tangents' `predict.gradient_descent` (trace_axes=(-1,)): gradient flow runs
in time s = eta t; with momentum mu it solves the heavy-ball ODE f'' = -Theta dL/df - (1 - mu)/sqrt(eta) f'
in time s = sqrt(eta) t from rest. Discrete descent (times count steps) is f <- f - eta Theta dL/df, or
with momentum u <- mu u + Theta dL/df, f <- f - eta u (u = 0 at step 0): for a model linear in its
parameters this is exactly parameter-space (momentum) descent, as in jax.example_libraries.optimizers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.ode import odeint

from ntksym.errors import InputError

LOSSES = ("mse", "cross_entropy")
NTK_SOURCES = ("infinite", "empirical")


@dataclass(frozen=True)
class Trajectory:
    """Outputs at the times `t` (T,): `train` (T, n, k), `test` (T, m, k) or None; losses (T,) of them."""

    t: np.ndarray
    train: np.ndarray
    test: np.ndarray | None
    train_loss: np.ndarray
    test_loss: np.ndarray | None
    loss: str
    learning_rate: float
    momentum: float | None
    discrete: bool

    @property
    def mean(self) -> np.ndarray | None:
        """The test outputs (the name `predict` uses for the ensemble mean)."""
        return self.test


def loss_value(loss: str, f, y):
    """The loss (T,) of outputs f (..., n, k) against targets y (n, k)."""
    f = jnp.asarray(f)
    if loss == "mse":
        return jnp.sum((f - y) ** 2, axis=(-2, -1)) / (2 * y.size)
    return -jnp.sum(y * jax.nn.log_softmax(f, axis=-1), axis=(-2, -1)) / y.size


def loss_gradient(loss: str, f, y):
    """dL/df (n, k) at f (n, k)."""
    if loss == "mse":
        return (f - y) / y.size
    return (jax.nn.softmax(f, axis=-1) * jnp.sum(y, axis=-1, keepdims=True) - y) / y.size


def targets(y, loss: str, n: int, num_classes: int | None = None, name: str = "y_train") -> np.ndarray:
    """(n, k) float targets; for cross_entropy, class labels (n,) of whole numbers become one-hot rows."""
    array = np.asarray(y)
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise InputError(f"{name}: must hold finite numbers (found NaN, infinity or non-numbers)")
    if array.shape[:1] != (n,) or array.ndim not in (1, 2):
        raise InputError(f"{name}: expected shape ({n},) or ({n}, outputs) to match {n} inputs, got {array.shape}")
    if loss == "cross_entropy" and array.ndim == 1:
        if np.any(array != np.round(array)) or np.any(array < 0):
            raise InputError(f"{name}: cross_entropy labels of shape (n,) must be class indices 0, 1, ...; "
                             "or give one-hot targets of shape (n, classes)")
        k = int(array.max()) + 1 if num_classes is None else int(num_classes)
        if np.any(array >= k):
            raise InputError(f"{name}: label {int(array.max())} is out of range for num_classes={k}")
        array = np.eye(max(k, 2))[array.astype(int)]
    if array.ndim == 1:
        array = array[:, None]
    if loss == "cross_entropy":
        if array.shape[1] < 2:
            raise InputError(f"{name}: cross_entropy needs at least 2 outputs (classes); the softmax of one "
                             "output is constant")
        if np.any(array < 0):
            raise InputError(f"{name}: cross_entropy targets must be >= 0 (one-hot rows or probabilities)")
    return np.asarray(array, np.float64)


def _check(loss, learning_rate, momentum, times, discrete) -> np.ndarray:
    if loss not in LOSSES:
        raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise InputError(f"learning_rate must be a positive number, got {learning_rate}")
    if momentum is not None and not (0 <= momentum < 1):
        raise InputError(f"momentum must be in [0, 1) (or None for plain descent), got {momentum}")
    try:
        t = np.atleast_1d(np.asarray(times, np.float64))
    except (TypeError, ValueError):
        raise InputError(f"t: expected numbers >= 0, got {times!r}") from None
    if t.ndim != 1 or t.size == 0 or np.any(np.isnan(t)) or np.any(t < 0):
        raise InputError("t: expected a non-empty list of times >= 0")
    if np.any(np.isinf(t)):
        raise InputError("t: inf is only available for loss mse without momentum (ntksym.predict); "
                         "give finite times")
    if discrete and np.any(t != np.round(t)):
        raise InputError("t: with discrete gradient descent, times count steps and must be whole numbers")
    return t


def _start(f0, shape, name):
    array = np.broadcast_to(np.asarray(0.0 if f0 is None else f0, np.float64), shape) if np.ndim(
        0.0 if f0 is None else f0) == 0 or np.shape(f0) == shape else None
    if array is None:
        raise InputError(f"{name}: expected a number or shape {shape}, got {np.shape(f0)}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name}: must hold finite numbers")
    return jnp.asarray(array)


def _ode(loss, theta_dd, theta_td, y, f0, g0, t, learning_rate, momentum, rtol, atol):
    """Gradient flow (or the heavy-ball ODE) from f0, g0 at sorted times t (T,)."""
    order = np.argsort(t, kind="stable")
    if momentum is None:
        s = t[order] * learning_rate

        def rhs(state, _):
            grad = loss_gradient(loss, state[0], y)
            return -theta_dd @ grad, -theta_td @ grad
        state0 = (f0, g0)
    else:
        root = np.sqrt(learning_rate)
        s, friction = t[order] * root, (momentum - 1.0) / root

        def rhs(state, _):
            f, g, q, r = state
            grad = loss_gradient(loss, f, y)
            return q, r, -theta_dd @ grad + friction * q, -theta_td @ grad + friction * r
        state0 = (f0, g0, jnp.zeros_like(f0), jnp.zeros_like(g0))
    grid = jnp.concatenate([jnp.zeros(1), jnp.asarray(s)])
    grid = grid.at[0].set(jnp.where(grid[1] == 0, -1e-24, 0.0))  # odeint needs strictly increasing times
    out = odeint(rhs, state0, grid, rtol=rtol, atol=atol, mxstep=100000)
    inverse = np.argsort(order)
    return np.asarray(out[0][1:])[inverse], np.asarray(out[1][1:])[inverse]


def _discrete(loss, theta_dd, theta_td, y, f0, g0, t, learning_rate, momentum):
    steps = t.astype(int)
    mu = 0.0 if momentum is None else momentum

    def step(carry, _):
        f, g, u, v = carry
        grad = loss_gradient(loss, f, y)
        u, v = mu * u + theta_dd @ grad, mu * v + theta_td @ grad
        new = (f - learning_rate * u, g - learning_rate * v, u, v)
        return new, (f, g)

    _, (fs, gs) = jax.lax.scan(step, (f0, g0, jnp.zeros_like(f0), jnp.zeros_like(g0)), None,
                               length=int(steps.max()) + 1)
    return np.asarray(fs)[steps], np.asarray(gs)[steps]


def train_from_kernels(k_train_train, k_test_train, y_train, t, *, loss: str = "mse", learning_rate: float = 1.0,
                       momentum: float | None = None, discrete: bool = False, fx_train_0=0.0, fx_test_0=0.0,
                       y_test=None, num_classes: int | None = None, rtol: float = 1e-11,
                       atol: float = 1e-11) -> Trajectory:
    """Train outputs in function space with the kernel `k_train_train` (n, n); predict with `k_test_train` (m, n).

    t: times of gradient flow (or steps with discrete=True); fx_train_0 (n, k) / fx_test_0 (m, k): the
    outputs at t = 0 (0: the infinite ensemble's mean at initialisation). k_test_train=None: train only.

        from ntksym.dynamics import train_from_kernels
        tr = train_from_kernels(ntk_dd, ntk_td, labels, [1, 10, 100], loss="cross_entropy", momentum=0.9)
        tr.test[-1].argmax(-1), tr.train_loss
    """
    times = _check(loss, learning_rate, momentum, t, discrete)
    theta_dd = np.asarray(k_train_train, np.float64)
    n = theta_dd.shape[0] if theta_dd.ndim == 2 else -1
    if theta_dd.ndim != 2 or theta_dd.shape != (n, n) or not np.all(np.isfinite(theta_dd)):
        raise InputError(f"k_train_train: expected a finite square matrix, got shape {theta_dd.shape}")
    theta_td = np.zeros((0, n)) if k_test_train is None else np.asarray(k_test_train, np.float64)
    if theta_td.ndim != 2 or theta_td.shape[1] != n or not np.all(np.isfinite(theta_td)):
        raise InputError(f"k_test_train: expected a finite matrix of shape (m, {n}), got {theta_td.shape}")
    y = targets(y_train, loss, n, num_classes)
    m, k = theta_td.shape[0], y.shape[1]
    f0 = _start(fx_train_0, (n, k), "fx_train_0")
    g0 = _start(fx_test_0, (m, k), "fx_test_0")
    yj, dd, td = jnp.asarray(y), jnp.asarray(theta_dd), jnp.asarray(theta_td)
    if discrete:
        train, test = _discrete(loss, dd, td, yj, f0, g0, times, learning_rate, momentum)
    else:
        train, test = _ode(loss, dd, td, yj, f0, g0, times, learning_rate, momentum, rtol, atol)
    yt = None
    if y_test is not None and m:
        yt = targets(y_test, loss, m, k if (loss == "cross_entropy" and np.ndim(y_test) == 1) else None, "y_test")
        if yt.shape[1] != k:
            raise InputError(f"y_test has {yt.shape[1]} outputs but y_train has {k}; they must agree")
    train_loss = np.asarray(loss_value(loss, train, yj))
    test_loss = None if yt is None else np.asarray(loss_value(loss, test, jnp.asarray(yt)))
    return Trajectory(times, train, test if k_test_train is not None else None, train_loss, test_loss, loss,
                      float(learning_rate), momentum, bool(discrete))


def train(model, x_train, y_train, x_test, t, *, loss: str = "mse", learning_rate: float = 1.0,
          momentum: float | None = None, discrete: bool = False, ntk: str = "infinite", width: int | None = None,
          seed: int = 0, y_test=None, num_classes: int | None = None, **hyperparameters) -> Trajectory:
    """Train `model`'s network in function space on (x_train, y_train) with `loss`; predict on x_test.

    ntk="infinite": the spec's infinite-width NTK, outputs starting at 0 (the ensemble mean at init);
    ntk="empirical": the empirical NTK of one finite network (hidden width `width`, weights from `seed`),
    outputs starting at that network's outputs: its linearised training.

        model = ntksym.compile(ntksym.load_spec("specs/relu_mlp.yaml"), dtype="float64")
        tr = ntksym.dynamics.train(model, x, labels, x_test, [1, 10], loss="cross_entropy", momentum=0.9)
    """
    if ntk not in NTK_SOURCES:
        raise InputError(f"ntk must be one of {', '.join(NTK_SOURCES)}, got {ntk!r}")
    if ntk == "infinite":
        dd = model.kernel(x_train, None, **hyperparameters).ntk
        td = model.kernel(x_test, x_train, **hyperparameters).ntk
        f0: Any = 0.0
        g0: Any = 0.0
    else:
        from ntksym.runtime.empirical import empirical_ntk
        from ntksym.runtime.network import apply, init, input_dim_of

        params = init(jax.random.PRNGKey(seed), model.spec, width, input_dim=input_dim_of(x_train),
                      hyperparameters=hyperparameters or None)
        dd, td = empirical_ntk(params, x_train), empirical_ntk(params, x_test, x_train)
        f0, g0 = np.asarray(apply(params, jnp.asarray(x_train))), np.asarray(apply(params, jnp.asarray(x_test)))
        y = targets(y_train, loss, len(f0), num_classes)
        if f0.shape[1] != y.shape[1]:
            raise InputError(f"y_train has {y.shape[1]} outputs but the network has {f0.shape[1]}; make the "
                             "readout's width match the classes")
    return train_from_kernels(dd, td, y_train, t, loss=loss, learning_rate=learning_rate, momentum=momentum,
                              discrete=discrete, fx_train_0=f0, fx_test_0=g0, y_test=y_test,
                              num_classes=num_classes)
