"""A finite network, its linearisation and its infinite-width limit, trained side by side on the same data.

Lee et al. (2019, "Wide neural networks of any depth evolve as linear models under gradient descent",
NeurIPS) show that a wide network in the NTK parameterisation, trained by gradient descent, stays close
to its first-order Taylor expansion in the parameters around initialisation,
    f_lin(x; theta) = f(x; theta_0) + J(x; theta_0) (theta - theta_0),
with sup_t ||f_t - f_lin,t|| falling like width^(-1/2); f_lin trained on MSE is kernel regression with
the empirical NTK Theta_0 = J J^T, and as the width grows Theta_0 tends to the analytic NTK. Ortiz-Jimenez
et al. (2021, "What can linearized neural networks actually say about generalization?", NeurIPS) train
networks and their linearisations with SGD, momentum and cross-entropy, and trace the gap between them to
the kernel's evolution during training, measured by the kernel-target alignment
    A(K, Y) = <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)      (Cristianini et al. 2002, "On kernel-target alignment").

`compare_linearized` trains, per width and seed, the network (ntksym.runtime.network) and its
linearisation from the same initial weights with the same minibatches and optimiser
(ntksym.runtime.training.descend; the linearisation's outputs come from jax.jvp, its gradients from
reverse mode through the jvp, so the Jacobian is never stored), and the infinite-width ensemble mean
(ntksym.runtime.dynamics_loss.train_from_kernels with the analytic NTK, outputs starting at 0). With
minibatches the infinite-width reference is full-batch descent at the same rate: for MSE, SGD on a
linear model with batches drawn afresh each step follows full-batch descent in expectation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from ntksym.codegen.preludes import network as P
from ntksym.compile import compile_spec
from ntksym.errors import InputError
from ntksym.reports.linearized import Curves, LinearizedReport
from ntksym.runtime.check import Progress, ProgressCallbacks, _depends_on_widths, with_width
from ntksym.runtime.data import check_inputs
from ntksym.runtime.dynamics_loss import LOSSES, loss_value, targets, train_from_kernels
from ntksym.runtime.empirical import empirical_ntk
from ntksym.runtime.network import Network, Params, input_dim_of, network
from ntksym.runtime.training import descend, max_stable_learning_rate
from ntksym.spec.schema import Spec

OPTIMIZERS = ("gd", "momentum")


def linearized_apply(params0: Params, params: Params, x: ArrayLike) -> jax.Array:
    """f_lin(x; params) = f(x; params0) + J(x; params0) (params - params0) (Lee et al. 2019, eq. 6), by jax.jvp."""
    net = params0.network
    delta = jax.tree_util.tree_map(jnp.subtract, params.layers, params0.layers)
    return _linear_outputs(net, params0.layers, delta, jnp.asarray(x))


def kernel_target_alignment(kernel: ArrayLike, y: ArrayLike) -> float:
    """A(K, Y) = <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F) (Cristianini et al. 2002), Y (n, k) or (n,)."""
    k = np.asarray(kernel, np.float64)
    y = np.asarray(y, np.float64).reshape(len(k), -1)
    target = y @ y.T
    return float(np.sum(k * target) / (np.linalg.norm(k) * np.linalg.norm(target)))


def accuracy(f: ArrayLike, y: ArrayLike) -> float:
    """Share of rows classified right: argmax of f against argmax of y, or for one output the sign."""
    f, y = np.asarray(f), np.asarray(y)
    if f.shape[-1] == 1:
        return float(np.mean(np.sign(f[..., 0]) == np.sign(y[..., 0])))
    return float(np.mean(np.argmax(f, -1) == np.argmax(y, -1)))


def output_distance(f: ArrayLike, f_lin: ArrayLike) -> float:
    """RMS(f - f_lin) / RMS(f_lin): the network's distance from its linearisation, in units of the outputs."""
    f, f_lin = np.asarray(f, np.float64), np.asarray(f_lin, np.float64)
    scale = np.sqrt(np.mean(f_lin**2))
    return float(np.sqrt(np.mean((f - f_lin) ** 2)) / scale) if scale > 0 else float("nan")


def _net_outputs(net: Network, layers, x):
    return P.apply(layers, x, net.records, net.activations, net.parameterization)


def _linear_outputs(net: Network, layers0, delta, x):
    primal, tangent = jax.jvp(lambda layers: _net_outputs(net, layers, x), (layers0,), (delta,))
    return primal + tangent


_net_outputs_jit = jax.jit(_net_outputs, static_argnums=0)
_linear_outputs_jit = jax.jit(_linear_outputs, static_argnums=0)


@partial(jax.jit, static_argnames=("net", "linear", "loss", "length"))
def _segment(trainable, velocity, layers0, x, y, rows, learning_rate, momentum, *, net, linear, loss, length):
    """`length` optimiser steps of the network (linear=False) or of its linearisation, whose trainable
    parameters are the displacement theta - theta_0 from `layers0`."""
    if linear:
        def model(delta, xb):
            return _linear_outputs(net, layers0, delta, xb)
    else:
        def model(layers, xb):
            return _net_outputs(net, layers, xb)
    params, velocity, _ = descend(model, trainable, velocity, x, y, learning_rate, momentum, rows, loss=loss,
                                  length=length)
    return params, velocity


def train_params(params0: Params, x_train: ArrayLike, y_train: ArrayLike, *, steps: int, learning_rate: float,
                 loss: str = "mse", momentum: float = 0.0, batch_size: int | None = None, seed: int = 0,
                 linear: bool = False) -> Params:
    """The network (linear=False) or its linearisation (linear=True) trained from `params0` for `steps` steps
    with compare_linearized's optimiser; y_train (n, k). A trained linearisation is returned as its parameters
    theta, to evaluate with linearized_apply(params0, theta, x)."""
    net, layers0 = params0.network, params0.layers
    x, y = jnp.asarray(x_train), jnp.asarray(y_train)
    rows = _minibatches(seed, int(steps), len(x), len(x) if batch_size is None else int(batch_size))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, layers0)
    trained, _ = _segment(zeros if linear else layers0, zeros, layers0, x, y, None if rows is None else jnp.asarray(rows),
                          jnp.asarray(learning_rate, x.dtype), jnp.asarray(momentum, x.dtype), net=net, linear=linear,
                          loss=loss, length=int(steps))
    return Params(jax.tree_util.tree_map(jnp.add, layers0, trained) if linear else trained, net)


def record_steps(steps: int, record_every: int | None) -> np.ndarray:
    """0, r, 2r, ... and `steps` (r = record_every, default steps // 10)."""
    every = max(1, steps // 10) if record_every is None else int(record_every)
    return np.unique(np.append(np.arange(0, steps + 1, every), steps))


def _minibatches(seed: int, steps: int, n: int, batch_size: int) -> np.ndarray | None:
    """(steps, b) rows, each step's batch drawn afresh without replacement; None for full batch."""
    if batch_size >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n, batch_size, replace=False) for _ in range(steps)]).astype(np.int32)


class _Measure:
    """Losses and accuracies of outputs on the training and test sets, per recorded step."""

    def __init__(self, loss: str, y_train: np.ndarray, y_test: np.ndarray, shape: tuple[int, ...]):
        self.loss, self.y_train, self.y_test = loss, y_train, y_test
        self.curves = Curves(*(np.full(shape, np.nan) for _ in range(4)))

    def __call__(self, index: tuple, f_train, f_test) -> None:
        f_train, f_test = np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)
        self.curves.train_loss[index] = float(loss_value(self.loss, f_train, self.y_train))
        self.curves.test_loss[index] = float(loss_value(self.loss, f_test, self.y_test))
        self.curves.train_accuracy[index] = accuracy(f_train, self.y_train)
        self.curves.test_accuracy[index] = accuracy(f_test, self.y_test)


def check_choices(loss: str, optimizer: str, momentum: float, prefix: str = "") -> None:
    """The loss, optimiser and momentum, named `prefix + name` in the message (the CLI passes "--")."""
    if loss not in LOSSES:
        raise InputError(f"{prefix}loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"{prefix}optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if not 0 <= momentum < 1:
        raise InputError(f"{prefix}momentum must be in [0, 1), got {momentum:g}")


def _check_options(widths, steps, learning_rate, loss, optimizer, momentum, batch_size, seeds, record_every,
                   ntk_points, n) -> tuple[list[int], int, float]:
    widths = sorted({int(w) for w in widths})
    if not widths or widths[0] < 1:
        raise InputError("widths must be whole numbers >= 1, e.g. 64,256,1024")
    if int(steps) != steps or steps < 1:
        raise InputError(f"steps must be a whole number >= 1, got {steps}")
    if learning_rate is not None and not (np.isfinite(learning_rate) and learning_rate > 0):
        raise InputError(f"learning_rate must be a positive number (or None for the default), got {learning_rate}")
    check_choices(loss, optimizer, momentum)
    batch = n if batch_size is None else int(batch_size)
    if (batch_size is not None and batch != batch_size) or not 1 <= batch <= n:
        raise InputError(f"batch_size must be a whole number from 1 to the {n} training examples, got {batch_size}")
    if int(seeds) != seeds or seeds < 1:
        raise InputError(f"seeds must be a whole number >= 1, got {seeds}")
    if record_every is not None and (int(record_every) != record_every or record_every < 1):
        raise InputError(f"record_every must be a whole number >= 1, got {record_every}")
    if ntk_points is not None and (int(ntk_points) != ntk_points or ntk_points < 2):
        raise InputError(f"ntk_points must be a whole number >= 2, got {ntk_points}")
    return widths, batch, 0.0 if optimizer == "gd" else float(momentum)


def compare_linearized(
    spec: Spec,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_test: ArrayLike,
    y_test: ArrayLike,
    *,
    widths: Sequence[int] = (64, 256, 1024),
    steps: int = 100,
    learning_rate: float | None = None,
    loss: str = "mse",
    optimizer: str = "gd",
    momentum: float = 0.9,
    batch_size: int | None = None,
    seeds: int = 1,
    record_every: int | None = None,
    ntk_points: int | None = None,
    x64: bool = False,
    key: int = 0,
    hyperparameters: dict[str, float] | None = None,
    progress: ProgressCallbacks | None = None,
) -> LinearizedReport:
    """Train the network, its linearisation and the infinite-width NTK mean side by side; see the module docstring.

    y: targets (n, k), or for cross_entropy class labels (n,). optimizer: gd (plain) or momentum (heavy ball,
    `momentum`); batch_size None: full batch, else minibatches drawn afresh every step (seeded by `key` and
    the seed, shared by the widths). learning_rate None: half the maximal stable rate of plain descent,
    2 n k / lambda_max of the analytic NTK (times 1 - momentum with momentum). Recorded every `record_every`
    steps (default steps / 10): train and test loss and accuracy of the three, the output distance
    RMS(f - f_lin) / RMS(f_lin) on the test inputs, and the empirical NTK's drift
    ||Theta_t - Theta_0||_F / ||Theta_0||_F and kernel-target alignment on the first `ntk_points` training
    inputs (default all). x64: float64 throughout, else float32.

        report = compare_linearized(spec, x, labels, x_test, labels_test, widths=[64, 512], steps=200,
                                    loss="cross_entropy", optimizer="momentum", batch_size=128)
        report.distance_rate, report.text(), report.to_json()
    """
    start = time.perf_counter()
    dtype = "float64" if x64 else "float32"
    model = compile_spec(spec, dtype)  # first: float64 switches jax to 64-bit before any array is made
    x_train, x_test = check_inputs(x_train, spec, "x_train"), check_inputs(x_test, spec, "x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise InputError(f"x_train and x_test have different example shapes {x_train.shape[1:]} and "
                         f"{x_test.shape[1:]}; they must match")
    n, m = len(x_train), len(x_test)
    widths, batch, mu = _check_options(widths, steps, learning_rate, loss, optimizer, momentum, batch_size, seeds,
                                       record_every, ntk_points, n)
    y_tr = targets(y_train, loss, n, name="y_train")
    k = y_tr.shape[1]
    y_te = targets(y_test, loss, m, k if loss == "cross_entropy" and np.ndim(y_test) == 1 else None, "y_test")
    if y_te.shape[1] != k:
        raise InputError(f"y_test has {y_te.shape[1]} outputs but y_train has {k}; they must agree")
    hp: dict[str, Any] = dict(hyperparameters or {})
    net = network(spec, hp)
    dim = input_dim_of(x_train)
    outputs = int(net.apply(net.init(jax.random.PRNGKey(0), widths[0], dim), x_train[:1]).shape[-1])
    if outputs != k:
        raise InputError(f"the targets have {k} outputs but the network has {outputs}; make the readout's width "
                         "match the classes (or the columns of y)")
    ntk_rows = n if ntk_points is None else min(int(ntk_points), n)
    times = record_steps(int(steps), record_every)
    shape = (len(widths), int(seeds), len(times))
    network_m, linear_m = (_Measure(loss, y_tr, y_te, shape) for _ in range(2))
    infinite_m = _Measure(loss, y_tr, y_te, (len(widths), len(times)))
    distance, drift, alignment = (np.full(shape, np.nan) for _ in range(3))
    infinite_alignment, rates, limits = [], [], []
    xt, xs, yt = jnp.asarray(x_train, dtype), jnp.asarray(x_test, dtype), jnp.asarray(y_tr, dtype)
    bar: ProgressCallbacks = progress or Progress()
    bar.start("training", len(widths) * int(seeds))
    per_width = spec.parameterization == "standard" or _depends_on_widths(spec)
    both = np.concatenate([x_train, x_test])  # one kernel call (one compiled shape) for train and test rows
    for i, width in enumerate(widths):
        if per_width or i == 0:
            kernel = model if not per_width else compile_spec(with_width(spec, width), dtype)
            ntk = np.asarray(kernel.kernel(both, **hp).ntk, np.float64)
        ntk_train = ntk[:n, :n]
        limit = max_stable_learning_rate(ntk_train, k)
        eta = 0.5 * limit * (1.0 - mu) if learning_rate is None else float(learning_rate)
        rates.append(eta)
        limits.append(limit)
        infinite_alignment.append(kernel_target_alignment(ntk_train[:ntk_rows, :ntk_rows], y_tr[:ntk_rows]))
        if per_width or i == 0 or eta != rates[0]:
            _infinite(infinite_m, i, ntk_train, ntk[n:, :n], y_tr, times,
                      loss=loss, learning_rate=eta, momentum=mu if optimizer == "momentum" else None)
        else:  # the same kernel and rate as the first width: the same trajectory
            for curve in fields(infinite_m.curves):
                getattr(infinite_m.curves, curve.name)[i] = getattr(infinite_m.curves, curve.name)[0]
        for j in range(int(seeds)):
            params0 = net.init(jax.random.fold_in(jax.random.PRNGKey(key), j), width, dim)
            layers0 = jax.tree_util.tree_map(lambda a: a.astype(dtype), params0.layers)
            rows = _minibatches(key * 1_000_003 + j, int(steps), n, batch)
            _train_pair(net, layers0, xt, yt, xs, rows, times, (i, j), eta, mu, loss, ntk_rows, network_m, linear_m,
                        distance, drift, alignment, y_tr)
            bar.advance("training")
    return LinearizedReport(
        spec_name=spec.name, parameterization=spec.parameterization, dtype=dtype, loss=loss, optimizer=optimizer,
        momentum=mu, batch_size=batch, learning_rate=rates, max_stable_learning_rate=limits, widths=widths,
        seeds=int(seeds), n_train=n, n_test=m, outputs=k, ntk_points=ntk_rows, steps=times,
        network=network_m.curves, linearized=linear_m.curves, infinite=infinite_m.curves,
        output_distance=distance, ntk_drift=drift, alignment=alignment,
        infinite_alignment=np.asarray(infinite_alignment), seconds=time.perf_counter() - start,
    )


def _infinite(measure: _Measure, i: int, ntk_train, ntk_test_train, y_train, times, **options) -> None:
    """The analytic NTK's ensemble mean (outputs 0 at init) at the recorded steps (Lee et al. 2019, eq. 9)."""
    path = train_from_kernels(ntk_train, ntk_test_train, y_train, times, discrete=True, **options)
    assert path.test is not None  # k_test_train was given
    for t in range(len(times)):
        measure((i, t), path.train[t], path.test[t])


def _train_pair(net: Network, layers0, x, y, x_test, rows, times, index, eta, mu, loss, ntk_rows, network_m,
                linear_m, distance, drift, alignment, y_train) -> None:
    """Train the network and its linearisation segment by segment, measuring both at every recorded step."""
    zeros = jax.tree_util.tree_map(jnp.zeros_like, layers0)
    state: dict[bool, list] = {False: [layers0, zeros], True: [zeros, zeros]}  # linear: params are theta - theta_0
    lr, momentum = jnp.asarray(eta, x.dtype), jnp.asarray(mu, x.dtype)
    x_ntk, n = x[:ntk_rows], len(x)
    theta0 = np.asarray(empirical_ntk(Params(layers0, net), x_ntk), np.float64)
    both = jnp.concatenate([x, x_test])  # train and test rows in one call: one compiled shape per model
    outputs: dict[bool, Callable] = {
        False: lambda p: _net_outputs_jit(net, p, both), True: lambda d: _linear_outputs_jit(net, layers0, d, both)
    }
    done = 0
    for t, step in enumerate(times):
        if step > done:
            segment = None if rows is None else jnp.asarray(rows[done:step])
            for linear in (False, True):
                state[linear][:] = _segment(*state[linear], layers0, x, y, segment, lr, momentum, net=net,
                                            linear=linear, loss=loss, length=int(step - done))
            done = int(step)
        at = (*index, t)
        f_net, f_lin = (np.asarray(outputs[linear](state[linear][0])) for linear in (False, True))
        network_m(at, f_net[:n], f_net[n:])
        linear_m(at, f_lin[:n], f_lin[n:])
        distance[at] = output_distance(f_net[n:], f_lin[n:])
        theta = theta0 if step == 0 else np.asarray(empirical_ntk(Params(state[False][0], net), x_ntk), np.float64)
        drift[at] = float(np.linalg.norm(theta - theta0) / np.linalg.norm(theta0))
        alignment[at] = kernel_target_alignment(theta, y_train[:ntk_rows])
