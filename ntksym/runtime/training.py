"""Train a finite network by full-batch gradient descent and compare it with the infinite-width theory.

Loss sum((f - y)^2) / (2 y.size) (SPEC_FORMAT.md); `descend` also trains with softmax cross-entropy,
momentum and minibatches (ntksym.runtime.linearized trains networks and their linearisations with it).
Under the NTK theory (Jacot et al. 2018; Lee et al. 2019) a wide network trained this way stays close to
its linearisation: its NTK barely moves (the relative drift ||Theta_t - Theta_0||_F / ||Theta_0||_F
shrinks like 1/sqrt(width)) and its outputs follow
    f_t(x) = f_0(x) + Theta(x, X) Theta^-1 (I - (I - eta Theta / (n k))^t) (Y - f_0(X))
for discrete steps of size eta. Seleznova & Kutyniok (2022) show where that fails: deep networks in
the chaotic phase, whose kernel moves a lot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from ntksym.codegen.preludes import network as P
from ntksym.runtime.dynamics_loss import loss_value
from ntksym.runtime.empirical import empirical_ntk
from ntksym.runtime.network import Params

if TYPE_CHECKING:
    from ntksym.runtime.kernel import CompiledModel


@dataclass(frozen=True)
class TrainResult:
    params: Params
    ntk_drift: float  # ||Theta_T - Theta_0||_F / ||Theta_0||_F on the training inputs
    losses: np.ndarray  # loss before each step and after the last one, length steps + 1
    f0_test: np.ndarray  # outputs on the test inputs at initialisation
    ft_test: np.ndarray  # ... after training


def mse_loss(f: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.sum((f - y) ** 2) / (2 * y.size)


def descend(model: Callable, params: Any, velocity: Any, x: jax.Array, y: jax.Array, learning_rate, momentum,
            rows: jax.Array | None, *, loss: str = "mse", length: int) -> tuple[Any, Any, jax.Array]:
    """`length` steps of gradient descent on loss(model(params, x_B), y_B), in one `lax.scan`.

    Heavy-ball momentum as in jax.example_libraries.optimizers and ntksym.runtime.dynamics_loss:
    u <- mu u + grad, params <- params - eta u (mu = 0: plain descent). `rows` (length, b) are the
    training rows of each step's minibatch, or None for full batch; the loss (dynamics_loss.loss_value)
    is normalised by b k, so a minibatch gradient estimates the full-batch one without bias. Returns
    (params, velocity, the loss of each step's batch before its update). Trace it inside jax.jit."""

    def objective(p, xb, yb):
        return loss_value(loss, model(p, xb), yb)

    def step(carry, batch):
        p, u = carry
        xb, yb = (x, y) if batch is None else (x[batch], y[batch])
        value, grad = jax.value_and_grad(objective)(p, xb, yb)
        u = jax.tree_util.tree_map(lambda v, g: momentum * v + g, u, grad)
        return (jax.tree_util.tree_map(lambda q, v: q - learning_rate * v, p, u), u), value

    (params, velocity), values = jax.lax.scan(step, (params, velocity), rows, length=length)
    return params, velocity, values


@partial(jax.jit, static_argnums=(4, 5, 6, 7))
def _descend(layers, x, y, learning_rate, records, phis, parameterization, steps):
    """`steps` full-batch gradient steps in one compiled loop; the loss before each and after the last."""

    def model(layers, x):
        return P.apply(layers, x, records, phis, parameterization)

    zeros = jax.tree_util.tree_map(jnp.zeros_like, layers)
    final, _, values = descend(model, layers, zeros, x, y, learning_rate, 0.0, None, length=steps)
    return final, jnp.append(values, mse_loss(model(final, x), y))


def train(params: Params, x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, *, steps: int, learning_rate: float) -> TrainResult:
    """Full-batch gradient descent for `steps` steps; the NTK drift is measured on x_train."""
    net = params.network
    x_train, y_train, x_test = (jnp.asarray(a) for a in (x_train, y_train, x_test))
    lr = jnp.asarray(learning_rate, x_train.dtype)
    theta0 = empirical_ntk(params, x_train)
    trained_layers, losses = _descend(
        params.layers, x_train, y_train, lr, net.records, net.activations, net.parameterization, int(steps)
    )
    trained = Params(trained_layers, net)
    theta_t = empirical_ntk(trained, x_train)
    drift = float(jnp.linalg.norm(theta_t - theta0) / jnp.linalg.norm(theta0))
    return TrainResult(
        trained,
        drift,
        np.asarray(losses),
        np.asarray(net.apply(params, x_test)),
        np.asarray(net.apply(trained, x_test)),
    )


def max_stable_learning_rate(ntk_train: np.ndarray, k: int) -> float:
    """Gradient descent on the linearised network is stable iff eta < 2 n k / lambda_max(Theta)."""
    lam = float(np.linalg.eigvalsh(np.asarray(ntk_train, np.float64))[-1])
    return 2.0 * ntk_train.shape[0] * k / lam


def infinite_width_mean(model: CompiledModel, x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, *, steps: int,
                        learning_rate: float) -> np.ndarray:
    """The infinite-width NTK mean prediction (n_test, k) after `steps` discrete GD steps (f_0 = 0), Lee et al. 2019."""
    from ntksym.runtime.dynamics import Prediction, predict

    result = predict(
        model, x_train, y_train, x_test, t=[steps], kernel="ntk", learning_rate=learning_rate, discrete=True
    )
    assert isinstance(result, Prediction)  # kernel="ntk": one prediction
    return np.asarray(result.mean)[0]


def prediction_gap(
    result: TrainResult, model: CompiledModel, x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, f0_train: ArrayLike,
    *, steps: int, learning_rate: float
) -> float:
    """||f_T(x_test) - f_inf(x_test)||_F / ||f_inf(x_test)||_F, with f_inf the infinite-width prediction
    started from this network's own initial function (linear in Y - f_0(X), so f_0 is added back)."""
    residual = np.asarray(y_train) - np.asarray(f0_train)
    f_inf = result.f0_test + infinite_width_mean(
        model, x_train, residual, x_test, steps=steps, learning_rate=learning_rate
    )
    return float(np.linalg.norm(result.ft_test - f_inf) / np.linalg.norm(f_inf))
