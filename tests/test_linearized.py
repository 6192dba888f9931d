"""Networks against their linearisations (Lee et al. 2019; Ortiz-Jimenez et al. 2021): the jvp linearisation,
its training against kernel regression with the empirical NTK, the distance falling with width, and the CLI."""

from __future__ import annotations

import json
import shlex
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.runtime.dynamics_loss import train_from_kernels
from ntksym.runtime.empirical import empirical_ntk
from ntksym.runtime.linearized import compare_linearized, kernel_target_alignment, linearized_apply, train_params
from ntksym.runtime.network import Params, apply, init


def tiny_spec(outputs: int = 1, activation: str = "erf", dim: int = 3) -> ntksym.Spec:
    return ntksym.parse_spec(
        f"ntksym: 1\nname: tiny\ninput_shape: [{dim}]\nlayers:\n"
        f"  - dense: {{w_std: 1.5, b_std: 0.2}}\n  - activation: {activation}\n"
        f"  - dense: {{w_std: 1.5, b_std: 0.2}}\n  - activation: {activation}\n"
        f"  - dense: {{width: {outputs}, w_std: 1.0, b_std: 0.1}}\n")


def float64_params(spec: ntksym.Spec, width: int, seed: int = 0) -> Params:
    params = init(jax.random.PRNGKey(seed), spec, width)
    return Params(jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params.layers), params.network)


def jacobian(params: Params, x: np.ndarray) -> np.ndarray:
    """The full Jacobian (n, k, parameters), leaves concatenated in tree order."""
    leaves = jax.tree_util.tree_leaves(_jacobian(params.network, params.layers, jnp.asarray(x)))
    return np.concatenate([np.asarray(leaf).reshape(x.shape[0], -1, int(np.prod(leaf.shape[2:]))) for leaf in leaves],
                          axis=-1)


@partial(jax.jit, static_argnums=0)
def _jacobian(net, layers, x):
    return jax.jacfwd(lambda p: net.apply(p, x))(layers)


def tiny_data(outputs: int, seed: int) -> tuple[np.ndarray, ...]:
    """6 training inputs, then 4 test inputs, of dimension 3 (all 10 rows), and targets for the 6; every test
    here evaluates on all 10 rows at once, so that each function compiles for one shape."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(10, 3))
    return rows, np.sin(rows[:6] @ rng.normal(size=(3, outputs)))


def test_linearization_equals_the_network_at_init_and_its_jvp_is_the_full_jacobian_product():
    spec = tiny_spec(outputs=1)
    params0 = float64_params(spec, width=8)
    x = tiny_data(1, 0)[0]
    f0 = np.asarray(apply(params0, x))
    np.testing.assert_allclose(np.asarray(linearized_apply(params0, params0, x)), f0, rtol=0, atol=1e-14)
    keys = jax.random.split(jax.random.PRNGKey(1), len(jax.tree_util.tree_leaves(params0.layers)))
    leaves, tree = jax.tree_util.tree_flatten(params0.layers)
    delta = [0.3 * jax.random.normal(key, leaf.shape, jnp.float64) for key, leaf in zip(keys, leaves)]
    moved = Params(jax.tree_util.tree_unflatten(tree, [a + d for a, d in zip(leaves, delta)]), params0.network)
    flat_delta = np.concatenate([np.asarray(d).ravel() for d in delta])
    expected = f0 + jacobian(params0, x) @ flat_delta
    f_lin = np.asarray(linearized_apply(params0, moved, x))
    assert np.max(np.abs(f_lin - expected)) < 1e-10
    assert np.max(np.abs(np.asarray(apply(moved, x)) - f_lin)) > 1e-3  # the network itself is not linear


@pytest.mark.parametrize("outputs", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: coupled outputs
def test_linearization_trained_by_gradient_descent_is_kernel_regression_with_the_empirical_ntk(outputs):
    """f_t = f_0 + Theta_xX Theta^-1 (I - (I - eta Theta / (n k))^t) (Y - f_0) with Theta = J_0 J_0^T over
    every (input, output) pair: the discrete-step form of Lee et al. 2019, eq. 9, for the empirical NTK."""
    spec = tiny_spec(outputs=outputs)
    params0 = float64_params(spec, width=8)
    rows, y = tiny_data(outputs, 2)
    n, k, steps = len(y), outputs, 40
    j = jacobian(params0, rows).reshape(len(rows) * k, -1)
    theta, theta_test = j[: n * k] @ j[: n * k].T, j[n * k :] @ j[: n * k].T
    if outputs == 1:  # the library's layer-factorised empirical NTK is the same kernel
        np.testing.assert_allclose(np.asarray(empirical_ntk(params0, rows))[:n, :n], theta, rtol=1e-12)
    eta = 0.4 * 2 * n * k / np.linalg.eigvalsh(theta)[-1]  # 1 - eta lam / (n k) in (0.2, 1): log1p below is defined
    lam, v = np.linalg.eigh(theta)
    gain = -np.expm1(steps * np.log1p(-eta * lam / (n * k))) / lam  # (1 - (1 - eta lam / nk)^t) / lam
    f0 = np.asarray(apply(params0, rows))
    expected = f0[n:].ravel() + theta_test @ (v @ (gain * (v.T @ (y - f0[:n]).ravel())))
    trained = train_params(params0, rows[:n], y, steps=steps, learning_rate=eta, linear=True)
    got = np.asarray(linearized_apply(params0, trained, rows))[n:].ravel()
    assert np.max(np.abs(got - expected)) < 1e-8 * max(1.0, np.max(np.abs(expected)))
    assert np.max(np.abs(got - f0[n:].ravel())) > 1e-2  # it moved


def test_linearization_with_momentum_follows_function_space_momentum_with_the_empirical_ntk():
    """Heavy-ball descent on the linear model's parameters is heavy-ball descent of its outputs with
    Theta_0 (ntksym.runtime.dynamics_loss's convention u <- mu u + grad, theta <- theta - eta u)."""
    spec = tiny_spec(outputs=1)
    params0 = float64_params(spec, width=8, seed=3)
    rows, y = tiny_data(1, 4)
    n, f0, theta = len(y), np.asarray(apply(params0, rows)), np.asarray(empirical_ntk(params0, rows))
    path = train_from_kernels(theta[:n, :n], theta[n:, :n], y, [25], learning_rate=0.3, momentum=0.8, discrete=True,
                              fx_train_0=f0[:n], fx_test_0=f0[n:])
    trained = train_params(params0, rows[:n], y, steps=25, learning_rate=0.3, momentum=0.8, linear=True)
    got = np.asarray(linearized_apply(params0, trained, rows))[n:]
    np.testing.assert_allclose(got, path.test[0], rtol=0, atol=1e-10)
    assert np.max(np.abs(got - f0[n:])) > 1e-2  # it moved


@pytest.mark.slow  # 7 s: three widths trained; the identity at init and the CLI test run by default
def test_output_distance_and_ntk_drift_fall_with_width(folder):
    """Lee et al. 2019: sup_t ||f_t - f_lin,t|| = O(width^-1/2), here with momentum SGD on cross-entropy."""
    train, test = np.load(folder / "train.npz"), np.load(folder / "test.npz")
    report = compare_linearized(ntksym.parse_spec(CLASSES_SPEC), train["x"], train["y"], test["x"], test["y"],
                                widths=[16, 512], steps=20, seeds=2, record_every=10, **SGD)
    distance, drift = report.output_distance[:, :, -1].mean(1), report.ntk_drift[:, :, -1].mean(1)
    assert np.all(report.output_distance[:, :, 0] == 0)  # step 0: the same function
    assert 0 < distance[1] < 0.5 * distance[0]  # sqrt(512 / 16) = 5.7 expected
    assert 0 < drift[1] < 0.5 * drift[0]
    assert np.all(report.network.train_loss[:, :, -1] < report.network.train_loss[:, :, 0])  # it trained
    assert -1 < report.distance_rate < -0.2


def test_kernel_target_alignment_is_one_for_the_target_kernel_and_invariant_to_scale():
    y = np.eye(3)[[0, 1, 2, 0]]
    assert kernel_target_alignment(5 * y @ y.T, y) == pytest.approx(1.0)
    assert kernel_target_alignment(np.eye(4), y) == pytest.approx(4 / (2 * np.sqrt(6)))


SGD = {"loss": "cross_entropy", "optimizer": "momentum", "batch_size": 4}
CLASSES_SPEC = ("ntksym: 1\nname: small\ninput_shape: [4]\nlayers:\n  - dense: {w_std: 1.4}\n  - activation: relu\n"
                "  - dense: {width: 3}\n")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("lin")
    (d / "small.yaml").write_text(CLASSES_SPEC)
    rng = np.random.default_rng(0)
    np.savez(d / "train.npz", x=rng.normal(size=(12, 4)), y=rng.integers(0, 3, 12))
    np.savez(d / "test.npz", x=rng.normal(size=(8, 4)), y=rng.integers(0, 3, 8))
    np.savez(d / "onehot.npz", x=rng.normal(size=(12, 4)), y=np.eye(2)[rng.integers(0, 2, 12)])  # 2 classes, not 3
    np.savez(d / "noy.npz", x=rng.normal(size=(8, 4)))
    np.savez(d / "wide.npz", x=rng.normal(size=(12, 5)), y=rng.integers(0, 3, 12))
    (d / "afile").write_text("")
    return d


LIN = "linearize {d}/small.yaml --train {d}/train.npz --test {d}/test.npz -o {d}/out --widths 8 --steps 2"


@pytest.mark.parametrize(("extra", "message"), [
    ("--loss hinge", "--loss must be one of mse, cross_entropy"),
    ("--optimizer adam", "--optimizer must be one of gd, momentum"),
    ("--widths 0,8", "--widths must be positive"),
    ("--steps 0", "--steps must be between 1"),
    ("--lr -1", "--lr must be a positive finite number"),
    ("--momentum 1", "--momentum must be in [0, 1)"),
    ("--batch-size 100", "--batch-size 100 exceeds the 12 training examples"),
    ("--ntk-points 1", "--ntk-points must be a whole number >= 2"),
    ("--test {d}/noy.npz", "has no array `y`"),
    ("--train {d}/wide.npz", "each example has shape (5,), but the spec's input_shape is [4]"),
    ("--train {d}/onehot.npz --test {d}/onehot.npz --loss cross_entropy", "the targets have 2 outputs but the network has 3"),
    ("-o {d}/afile", "exists and is not a folder"),
])
def test_cli_bad_inputs_exit_2_with_one_line_and_write_nothing(folder, extra, message):
    before = sorted(folder.rglob("*"))
    args = [part.replace("{d}", str(folder)) for part in shlex.split(f"{LIN} {extra}")]
    result = CliRunner().invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert sorted(folder.rglob("*")) == before


def test_cli_writes_the_report_and_the_figures(folder, tmp_path):
    out = tmp_path / "report"
    args = shlex.split(f"linearize {folder}/small.yaml --train {folder}/train.npz --test {folder}/test.npz -o {out} "
                       "--widths 16,512 --steps 30 --record-every 10 --loss cross_entropy --optimizer momentum "
                       "--batch-size 4 --seeds 2")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "output distance ~ width^rate" in result.stdout
    doc = json.loads((out / "report.json").read_text())
    assert doc["steps"] == [0, 10, 20, 30] and doc["widths"] == [16, 512] and doc["batch_size"] == 4
    assert doc["loss"] == "cross_entropy" and doc["optimizer"] == "momentum" and doc["momentum"] == 0.9
    for part in ("network", "linearized"):
        assert set(doc[part]) == {"train_loss", "test_loss", "train_accuracy", "test_accuracy"}
        assert np.shape(doc[part]["test_accuracy"]) == (2, 2, 4)
    assert np.shape(doc["infinite"]["test_loss"]) == (2, 4)
    distance, drift, alignment = (np.asarray(doc[key], float) for key in ("output_distance", "ntk_drift", "alignment"))
    assert distance.shape == drift.shape == alignment.shape == (2, 2, 4)
    assert np.all(distance[:, :, 0] == 0) and np.all(distance[:, :, 1:] > 0) and np.all(drift[:, :, 0] == 0)
    assert np.all(np.abs(alignment) <= 1) and len(doc["infinite_alignment"]) == 2
    assert doc["infinite"]["train_loss"][0][0] == pytest.approx(np.log(3) / 3)  # the mean starts at 0; loss / (n k)
    assert isinstance(doc["distance_fit"]["rate"], float) and doc["distance_fit"]["lee_et_al_rate"] == -0.5
    assert (out / "curves.png").stat().st_size > 1000 and (out / "distance.png").stat().st_size > 1000
