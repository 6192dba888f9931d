#!/usr/bin/env python3
"""Make reference cases for training dynamics beyond MSE gradient flow: tests/data/nt_dynamics_extra.json.

Runs ONLY in an environment with neural-tangents 0.6.5 (never imported by the tests or the package; see
tools/make_reference_cases.py for how to build one; benchmarks/.nt-env is such an environment):

    benchmarks/.nt-env/bin/python tools/make_dynamics_cases.py [-o tests/data/nt_dynamics_extra.json]

Every case holds a small MLP (`layers`, a spec's layer list, ntk parameterization), x_train, one-hot
y_train, x_test and neural-tangents' float64 kernels (ntk_dd, ntk_td, ntk_tt, nngp_dd, nngp_td,
nngp_tt: train-train, test-train, test-test). Then, per kind:

- "ode": `nt.predict.gradient_descent(loss, ntk_dd, y_train, learning_rate, momentum)` (trace_axes=(-1,))
  from fx_train_0, fx_test_0 at the times `t`: train (T, n, k), test (T, m, k). Losses:
  mse = 0.5 * mean((f - y)^2) (= sum((f - y)^2) / (2 y.size)); cross_entropy = -mean(log_softmax(f) * y).
- "discrete": a model linear in its parameters, f(x) = phi(x) W with fixed features phi (n, p) and W
  (p, k), trained in parameter space with jax.example_libraries.optimizers (sgd, or momentum with
  `mass` = momentum) for `steps`; its empirical NTK, traced over outputs by `nt.empirical_ntk_fn(...,
  trace_axes=(-1,))`, is exactly phi phi^T (x) I, so function-space descent with it must reproduce these
  outputs. Stored: the kernels ntk_dd, ntk_td of the linear model, fx_train_0, fx_test_0, train, test.
- "ntkgp": `nt.predict.gp_inference(..., diag_reg)(get="ntkgp", ...)`: posterior mean (m, k) and
  covariance (m, m) of the GP with the NTK as prior covariance (He et al. 2020) at t = inf.
"""

from __future__ import annotations

import argparse
import json
from collections import namedtuple

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
from jax.example_libraries import optimizers  # noqa: E402
from neural_tangents import stax  # noqa: E402

LAYERS = [{"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": {"name": "erf"}},
          {"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": {"name": "relu"}},
          {"dense": {"width": 3, "w_std": 1.0, "b_std": 0.0}}]


def mse(fx, y):
    return 0.5 * jnp.mean((fx - y) ** 2)


def cross_entropy(fx, y):
    return -jnp.mean(jax.nn.log_softmax(fx) * y)


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}


def network():
    return stax.serial(stax.Dense(1, W_std=1.5, b_std=0.1), stax.Erf(), stax.Dense(1, W_std=1.5, b_std=0.1),
                       stax.Relu(), stax.Dense(3, W_std=1.0, b_std=0.0))


def data(seed, n=10, m=4, d=4, k=3):
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    labels = rng.integers(0, k, size=n)
    return x_train, np.eye(k)[labels], x_test, labels


def kernels(x_train, x_test):
    kernel_fn = network()[2]
    dd, td, tt = kernel_fn(x_train, None), kernel_fn(x_test, x_train), kernel_fn(x_test, None)
    return {"ntk_dd": dd.ntk, "ntk_td": td.ntk, "ntk_tt": tt.ntk, "nngp_dd": dd.nngp, "nngp_td": td.nngp,
            "nngp_tt": tt.nngp}


def ode_case(cid, seed, loss, learning_rate, momentum, t, random_start=False):
    x_train, y, x_test, labels = data(seed)
    k = kernels(x_train, x_test)
    rng = np.random.default_rng(seed + 100)
    f0 = rng.normal(size=y.shape) * 0.5 if random_start else np.zeros_like(y)
    g0 = rng.normal(size=(len(x_test), y.shape[1])) * 0.5 if random_start else np.zeros((len(x_test), y.shape[1]))
    fn = nt.predict.gradient_descent(LOSSES[loss], k["ntk_dd"], y, learning_rate, momentum)
    train, test = fn(np.asarray(t, np.float64), f0, g0, k["ntk_td"])
    return {"id": cid, "kind": "ode", "layers": LAYERS, "input_shape": [x_train.shape[1]], "x_train": x_train,
            "y_train": y, "labels": labels, "x_test": x_test, **k, "loss": loss, "learning_rate": learning_rate,
            "momentum": momentum, "t": t, "fx_train_0": f0, "fx_test_0": g0, "train": train, "test": test}


def discrete_case(cid, seed, loss, learning_rate, momentum, steps, p=6):
    x_train, y, x_test, labels = data(seed)
    rng = np.random.default_rng(seed + 200)
    proj = rng.normal(size=(x_train.shape[1], p))
    phi_train, phi_test = np.tanh(x_train @ proj), np.tanh(x_test @ proj)
    w0 = rng.normal(size=(p, y.shape[1])) * 0.3

    def apply(w, phi):
        return phi @ w

    ntk_fn = nt.empirical_ntk_fn(apply, trace_axes=(-1,))
    ntk_dd, ntk_td = ntk_fn(phi_train, None, w0), ntk_fn(phi_test, phi_train, w0)
    if momentum is None:
        init, update, get = optimizers.sgd(learning_rate)
    else:
        init, update, get = optimizers.momentum(learning_rate, mass=momentum)
    grad = jax.jit(jax.grad(lambda w: LOSSES[loss](apply(w, phi_train), y)))
    state, train, test = init(jnp.asarray(w0)), [], []
    for step in range(max(steps) + 1):
        if step in steps:
            w = get(state)
            train.append(apply(w, phi_train))
            test.append(apply(w, phi_test))
        state = update(step, grad(get(state)), state)
    return {"id": cid, "kind": "discrete", "x_train": x_train, "y_train": y, "labels": labels, "x_test": x_test,
            "ntk_dd": ntk_dd, "ntk_td": ntk_td, "loss": loss, "learning_rate": learning_rate, "momentum": momentum,
            "t": steps, "fx_train_0": apply(w0, phi_train), "fx_test_0": apply(w0, phi_test),
            "train": np.stack(train), "test": np.stack(test)}


def ntkgp_case(cid, seed, diag_reg):
    x_train, y, x_test, labels = data(seed)
    k = kernels(x_train, x_test)
    pair = namedtuple("Pair", "nngp ntk")
    fn = nt.predict.gp_inference(pair(k["nngp_dd"], k["ntk_dd"]), y, diag_reg=diag_reg)
    out = fn(get="ntkgp", k_test_train=pair(k["nngp_td"], k["ntk_td"]), k_test_test=pair(k["nngp_tt"], k["ntk_tt"]))
    return {"id": cid, "kind": "ntkgp", "layers": LAYERS, "input_shape": [x_train.shape[1]], "x_train": x_train,
            "y_train": y, "labels": labels, "x_test": x_test, **k, "diag_reg": diag_reg,
            "diag_reg_relative_to_mean_trace": True, "mean": out.mean, "cov": out.covariance}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="tests/data/nt_dynamics_extra.json")
    args = parser.parse_args()
    cases = [
        ode_case("ode-ce", 1, "cross_entropy", 1.0, None, [0.0, 0.5, 5.0, 50.0]),
        ode_case("ode-ce-start", 2, "cross_entropy", 0.5, None, [1.0, 10.0, 200.0], random_start=True),
        ode_case("ode-ce-momentum", 3, "cross_entropy", 0.5, 0.9, [0.0, 1.0, 10.0, 60.0]),
        ode_case("ode-mse-momentum", 4, "mse", 1.0, 0.9, [0.5, 5.0, 40.0], random_start=True),
        ode_case("ode-mse", 5, "mse", 2.0, None, [0.5, 5.0, 40.0]),
        discrete_case("gd-ce", 6, "cross_entropy", 2.0, None, [0, 1, 5, 40]),
        discrete_case("gd-ce-momentum", 7, "cross_entropy", 1.0, 0.9, [0, 1, 3, 25, 100]),
        discrete_case("gd-mse-momentum", 8, "mse", 0.5, 0.8, [2, 10, 60]),
        ntkgp_case("ntkgp", 9, 1e-4),
        ntkgp_case("ntkgp-noreg", 10, 0.0),
    ]

    def plain(value):
        if isinstance(value, (np.ndarray, jax.Array)):
            return np.asarray(value).tolist()
        return value

    out = {"anchor": f"neural-tangents {nt.__version__} on jax {jax.__version__}, float64",
           "cases": [{key: plain(value) for key, value in case.items()} for case in cases]}
    with open(args.output, "w") as f:
        json.dump(out, f)
    print(f"wrote {args.output}: {len(cases)} cases")


if __name__ == "__main__":
    main()
