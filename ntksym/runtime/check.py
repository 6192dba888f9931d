"""`ntksym.check`: how far real finite-width networks built from a spec are from its infinite-width theory.

For each width and seed: the relative Frobenius error of the empirical NTK and of the Monte Carlo NNGP
against the analytic kernels (theory: about width^(-1/2), Jacot et al. 2018; Hanin & Nica 2020 show the
fluctuations grow with depth/width), and, after training by gradient descent, the relative NTK drift and
the distance of the test predictions from the infinite-width prediction (Lee et al. 2019).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from ntksym.compile import compile_spec
from ntksym.errors import InputError
from ntksym.layers import kind_of, map_layers, walk_layers
from ntksym.reports.check import CheckReport
from ntksym.runtime.data import check_inputs
from ntksym.runtime.empirical import empirical_ntk, monte_carlo_nngp
from ntksym.runtime.network import Network, Params, input_dim_of, network
from ntksym.runtime.training import max_stable_learning_rate, prediction_gap, train
from ntksym.spec import schema as s


class ProgressCallbacks(Protocol):
    """What reports progress: `Progress` (silent) or the CLI's rich bars."""

    def start(self, name: str, total: int) -> None: ...

    def advance(self, name: str) -> None: ...


class Progress:
    """Progress callbacks (no-op here; the CLI shows rich progress bars)."""

    def start(self, name: str, total: int) -> None: ...

    def advance(self, name: str) -> None: ...


def with_width(spec: s.Spec, width: int) -> s.Spec:
    """`spec` with every hidden dense layer's width (and conv's channels) set to `width` (the standard parameterization's
    analytic NTK depends on the fan-ins); the output layer keeps its own."""
    from ntksym.codegen.architecture import _output_layer

    output = _output_layer(spec.layers)

    def widen(layer):
        return kind_of(layer).with_width(layer, width, layer is output)

    digest = hashlib.sha256(f"{spec.sha256}:hidden-width={int(width)}".encode()).hexdigest()
    return dataclasses.replace(spec, layers=map_layers(spec.layers, widen), sha256=digest)


def _depends_on_widths(spec: s.Spec) -> bool:
    """A kernel that depends on the widths in any parameterization (`branches` with merge concat)."""
    return any(kind_of(layer).kernel_depends_on_widths(layer) for layer in walk_layers(spec.layers))


def relative_error(estimate: ArrayLike, exact: ArrayLike) -> float:
    exact = np.asarray(exact, np.float64)
    return float(np.linalg.norm(np.asarray(estimate, np.float64) - exact) / np.linalg.norm(exact))


def _cast(params: Params, dtype: str) -> Params:
    return Params(jax.tree_util.tree_map(lambda a: a.astype(dtype), params.layers), params.network)


def default_targets(x: np.ndarray, k: int, key: jax.Array) -> np.ndarray:
    """A smooth target y = sin(2 x V / sqrt(d)), V standard normal (d, k)."""
    flat = x.reshape(x.shape[0], -1)
    v = np.asarray(jax.random.normal(key, (flat.shape[1], k)), np.float64)
    return np.sin(2.0 * flat @ v / np.sqrt(flat.shape[1]))


def _inputs(
    spec: s.Spec, net: Network, x, n: int, n_test: int, input_dim: int, key
) -> tuple[np.ndarray, ...]:
    if x is None:
        shape = tuple(spec.input_shape) if spec.input_shape is not None else (input_dim,)
        x = np.asarray(jax.random.normal(key, (n + n_test, *shape)), np.float64)
    x = check_inputs(x, spec, "x")
    if x.shape[0] < n + n_test:
        raise InputError(
            f"x holds {x.shape[0]} examples but n + n_test = {n} + {n_test}; lower --n or give more data"
        )
    return x[:n], x[n : n + n_test]


def check(
    spec: s.Spec,
    widths: Sequence[int] = (64, 256, 1024),
    *,
    seeds: int = 8,
    n: int = 32,
    n_test: int | None = None,
    train_steps: int = 200,
    learning_rate: float | None = None,
    learning_rate_fraction: float = 0.5,
    train_seeds: int | None = None,
    samples: int = 16,
    dtype: str = "float32",
    x: ArrayLike | None = None,
    y: ArrayLike | None = None,
    key: int = 0,
    input_dim: int = 16,
    hyperparameters: dict[str, float] | None = None,
    progress: ProgressCallbacks | None = None,
) -> CheckReport:
    """Empirical vs analytic kernels and training drift over a width sweep; see the module docstring.

    The learning rate is `learning_rate`, else `learning_rate_fraction` times the maximal stable rate
    2 n k / lambda_max of the analytic NTK on the training inputs."""
    widths = sorted({int(w) for w in widths})
    if not widths or widths[0] < 1:
        raise InputError("widths must be positive whole numbers, e.g. 64,256,1024")
    if seeds < 1 or n < 2 or train_steps < 0:
        raise InputError("need seeds >= 1, n >= 2 and train_steps >= 0")
    n_test = max(2, n // 2) if n_test is None else int(n_test)
    train_seeds = min(seeds, 4) if train_seeds is None else min(int(train_seeds), seeds)
    progress = progress or Progress()
    start = time.perf_counter()
    model = compile_spec(spec, dtype)  # first: float64 switches jax to 64-bit before any array is made
    hp: dict[str, Any] = dict(hyperparameters or {})  # Any: splatted beside model.kernel's own options
    net = network(spec, hp)
    root = jax.random.PRNGKey(key)
    x_train, x_test = _inputs(spec, net, x, n, n_test, input_dim, jax.random.fold_in(root, 1))
    dim = input_dim_of(x_train)
    k = int(net.apply(net.init(root, widths[0], dim), x_train[:1]).shape[-1])
    y_train = (
        default_targets(x_train, k, jax.random.fold_in(root, 2)) if y is None else np.asarray(y, np.float64)
    )
    if y_train.shape != (n, k):
        raise InputError(f"y must have shape (n, k) = ({n}, {k}), got {y_train.shape}")
    xt, xs = jnp.asarray(x_train, dtype), jnp.asarray(x_test, dtype)
    shape = (len(widths), seeds)
    ntk_err, nngp_err = np.zeros(shape), np.zeros(shape)
    drift, gap, loss = (np.full((len(widths), train_seeds), np.nan) for _ in range(3))
    rates, stable = [], []
    progress.start("kernels", len(widths) * seeds)
    if train_seeds and train_steps:
        progress.start("training", len(widths) * train_seeds)
    for i, width in enumerate(widths):
        if spec.parameterization == "standard" or _depends_on_widths(spec):
            model = compile_spec(with_width(spec, width), dtype)
        analytic = model.kernel(x_train, **hp)
        keys = jax.random.split(jax.random.fold_in(root, 1000 + width), seeds)
        for j in range(seeds):
            params = _cast(net.init(keys[j], width, dim), dtype)
            ntk_err[i, j] = relative_error(empirical_ntk(params, xt), analytic.ntk)
            mc = monte_carlo_nngp(
                net, xt, width=width, samples=samples, key=jax.random.fold_in(keys[j], 7), dtype=dtype
            )
            nngp_err[i, j] = relative_error(mc, analytic.nngp)
            progress.advance("kernels")
        limit = max_stable_learning_rate(analytic.ntk, k)
        eta = learning_rate_fraction * limit if learning_rate is None else float(learning_rate)
        rates.append(eta)
        stable.append(limit)
        if not (train_seeds and train_steps):
            continue
        for j in range(train_seeds):
            params = _cast(net.init(keys[j], width, dim), dtype)
            result = train(params, xt, jnp.asarray(y_train, dtype), xs, steps=train_steps, learning_rate=eta)
            f0 = np.asarray(net.apply(params, xt), np.float64)
            drift[i, j] = result.ntk_drift
            loss[i, j] = result.losses[-1]
            gap[i, j] = prediction_gap(
                result, model, x_train, y_train, x_test, f0, steps=train_steps, learning_rate=eta
            )
            progress.advance("training")
    return CheckReport(
        spec_name=spec.name,
        parameterization=spec.parameterization,
        dtype=dtype,
        widths=widths,
        seeds=seeds,
        n_train=n,
        n_test=n_test,
        outputs=k,
        samples=samples,
        train_steps=train_steps,
        train_seeds=train_seeds,
        learning_rate=rates,
        max_stable_learning_rate=stable,
        ntk_rel_error=ntk_err,
        nngp_rel_error=nngp_err,
        ntk_drift=drift,
        prediction_gap=gap,
        final_train_loss=loss,
        seconds=time.perf_counter() - start,
    )
