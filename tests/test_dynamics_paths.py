"""Which work the dynamics core does: t = inf by Cholesky alone (no eigh unless the train kernel is
singular), one eigendecomposition for finite times, both kernels from one kernel evaluation, and no
test-test kernel without a covariance."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import ntksym
from ntksym.codegen.preludes import dynamics as core

STATIC = ("absolute", "nngp", "discrete", "with_cov", "all_infinite")


@pytest.fixture(scope="module")
def model():
    hidden = [{"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": "relu"}]
    doc = {"ntksym": 1, "name": "dyn-paths", "layers": hidden * 2 + [{"dense": {"w_std": 1.0}}]}
    return ntksym.compile(ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False)), dtype="float64")


@pytest.fixture(scope="module")
def data(model):
    rng = np.random.default_rng(7)
    x_train, x_test = rng.normal(size=(9, 4)), rng.normal(size=(3, 4))
    dd, td, tt = model.kernel(x_train), model.kernel(x_test, x_train), model.kernel(x_test)
    return {"x_train": x_train, "x_test": x_test, "y": rng.normal(size=(9, 2)), "dd": dd, "td": td, "tt": tt}


def _blocks(kernel, dd, td, tt):
    pick = (lambda k: k.nngp) if kernel == "nngp" else (lambda k: k.ntk)
    return pick(dd), pick(td), {"nngp_train_train": dd.nngp, "nngp_test_train": td.nngp, "nngp_test_test": tt.nngp}


def _run(data, kernel, t, **options):
    theta_dd, theta_td, nngp = _blocks(kernel, data["dd"], data["td"], data["tt"])
    return ntksym.predict_from_kernels(theta_dd, theta_td, data["y"], t, kernel=kernel, **nngp, **options)


def _core_args(theta_dd, theta_td, k_dd, k_td, k_tt, y, t):
    return (theta_dd, theta_td, k_dd, k_td, k_tt, y, np.asarray(t, float), 1.0, 0.0)


def _primitives(jaxpr, inside_cond=False):
    """(primitive name, whether it sits inside a lax.cond branch, its first operand's shape) for every
    equation, recursively."""
    found = []
    for eqn in jaxpr.eqns:
        shape = tuple(getattr(eqn.invars[0].aval, "shape", ())) if eqn.invars else ()
        found.append((eqn.primitive.name, inside_cond, shape))
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    found += _primitives(getattr(inner, "jaxpr", inner), inside_cond or eqn.primitive.name == "cond")
    return found


def _trace(t, **static):
    """The jaxpr of the core for a 100-point train kernel (above 64 points: Lanczos, not eigvalsh)."""
    import jax

    rng = np.random.default_rng(6)
    k = _gaussian_kernel(rng.normal(size=(110, 8)))
    args = _core_args(k[:100, :100], k[100:, :100], k[:100, :100], k[100:, :100], k[100:, 100:],
                      rng.normal(size=(100, 2)), t)
    return jax.make_jaxpr(lambda *a: core._dyn_core_impl(*a, **static))(*args).jaxpr


def test_infinite_time_alone_runs_no_eigendecomposition_outside_the_singular_fallback():
    options = {"absolute": False, "nngp": False, "discrete": False, "with_cov": True}
    limit = _primitives(_trace([np.inf, np.inf], all_infinite=True, **options))
    assert ("cholesky", False, (100, 100)) in limit and ("eigh", True, (100, 100)) in limit
    # of the train kernel's size only in a lax.cond branch; outside it, Lanczos's 32 x 32 tridiagonal
    assert {(inside, shape) for name, inside, shape in limit if name == "eigh"} == {(True, (100, 100)),
                                                                                   (False, (32, 32))}
    finite = _primitives(_trace([0.0, 1.0, np.inf], all_infinite=False, **options))
    assert [(name, shape) for name, _, shape in finite if name in ("eigh", "cholesky")] == [("eigh", (100, 100))]


def _count_fallbacks(monkeypatch):
    """Patch the singular fallback so that each time it runs (not traces) it is counted."""
    import jax

    calls = []
    original = core._dyn_pinv_limit

    def counted(*args):
        jax.debug.callback(lambda: calls.append(1))
        return original(*args)

    monkeypatch.setattr(core, "_dyn_pinv_limit", counted)
    fresh = jax.jit(core._dyn_core_impl, static_argnames=STATIC)  # traced anew, with the patched fallback
    return calls, lambda *args, **static: jax.block_until_ready(fresh(*args, **static))


def test_the_eigh_fallback_runs_only_for_a_singular_train_kernel(data, monkeypatch):
    calls, run = _count_fallbacks(monkeypatch)
    dd, td, tt, y = data["dd"], data["td"], data["tt"], data["y"]
    static = {"absolute": False, "nngp": False, "discrete": False, "with_cov": True, "all_infinite": True}
    run(*_core_args(dd.ntk, td.ntk, dd.nngp, td.nngp, tt.nngp, y, [np.inf]), **static)
    assert calls == []
    rank_one = np.outer(np.arange(1.0, 10.0), np.arange(1.0, 10.0))
    run(*_core_args(rank_one, td.ntk, dd.nngp, td.nngp, tt.nngp, y, [np.inf]), **static)
    assert calls == [1]


def test_a_singular_train_kernel_falls_back_to_the_pseudo_inverse(model):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 4))
    x_train, y = np.concatenate([x, x[:3]]), rng.normal(size=(8, 1))  # repeated inputs: exactly singular
    x_test = rng.normal(size=(3, 4))
    limit = ntksym.predict(model, x_train, y, x_test, [np.inf])
    eigen = ntksym.predict(model, x_train, y, x_test, [0.0, np.inf])
    for name in ("mean", "cov", "train_mean"):
        got, want = getattr(limit, name)[0], getattr(eigen, name)[-1]
        assert np.all(np.isfinite(got))
        assert np.abs(got - want).max() <= 1e-8 * np.abs(want).max(), name
    rank_one = np.outer(np.arange(1.0, 5.0), np.arange(1.0, 5.0))
    q = ntksym.predict_from_kernels(rank_one, rank_one[:2], np.ones(4), [np.inf])
    v = np.arange(1.0, 5.0) / np.linalg.norm(np.arange(1.0, 5.0))  # y projected on the kernel's range
    np.testing.assert_allclose(q.train_mean[0, :, 0], v * (v @ np.ones(4)), rtol=1e-10)


def _gaussian_kernel(x):
    """A positive definite kernel matrix (Gaussian plus a constant), stand-in for an NTK."""
    sq = np.sum(x**2, axis=1)
    return np.exp(-(sq[:, None] + sq[None] - 2 * x @ x.T) / (2 * x.shape[1])) + 0.1


def test_lanczos_gives_the_largest_eigenvalue_from_below():
    rng = np.random.default_rng(3)
    k = _gaussian_kernel(rng.normal(size=(300, 16)))  # n > 64: Lanczos, not eigvalsh
    want = np.linalg.eigvalsh(k)[-1]
    got = float(core._dyn_lanczos_max(k))
    assert got <= want * (1 + 1e-14) and got == pytest.approx(want, rel=1e-12)
    assert float(core._dyn_lanczos_max(np.zeros_like(k))) == 0.0  # the same shape: no second compile


def test_infinite_time_alone_for_a_larger_kernel_matches_the_eigh_path():
    rng = np.random.default_rng(4)
    k = _gaussian_kernel(rng.normal(size=(240, 16)))
    dd, td, tt, y = k[:200, :200], k[200:, :200], k[200:, 200:], rng.normal(size=(200, 3))
    assert np.linalg.eigvalsh(dd)[0] > 1e-3  # positive definite: the Cholesky branch
    blocks = {"nngp_train_train": dd, "nngp_test_train": td, "nngp_test_test": tt, "diag_reg": 1e-3}
    limit = ntksym.predict_from_kernels(dd, td, y, [np.inf], **blocks)
    eigen = ntksym.predict_from_kernels(dd, td, y, [1.0, np.inf], **blocks)
    for name in ("mean", "cov"):
        got, want = getattr(limit, name)[0], getattr(eigen, name)[-1]
        assert np.abs(got - want).max() <= 1e-10 * np.abs(want).max(), name
    assert limit.max_learning_rate == pytest.approx(eigen.max_learning_rate, rel=1e-10)


def test_discrete_descent_at_infinite_time_alone_still_diverges_and_warns(data):
    exact = _run(data, "ntk", [0.0, np.inf]).max_learning_rate
    stable = _run(data, "ntk", [np.inf], discrete=True, learning_rate=0.99 * exact)
    assert stable.max_learning_rate == pytest.approx(exact, rel=1e-12) and np.all(np.isfinite(stable.mean))
    with pytest.warns(RuntimeWarning, match="maximal stable rate .* diverges"):
        unstable = _run(data, "ntk", [np.inf], discrete=True, learning_rate=1.01 * exact)
    assert np.all(np.isnan(unstable.mean))


class CountingModel:
    """A compiled model whose `kernel` calls are recorded as (x1 is x_test, x2 is None)."""

    def __init__(self, model, x_test):
        self.model, self.x_test, self.calls = model, x_test, []

    def kernel(self, x1, x2=None, **hyperparameters):
        self.calls.append((x1 is self.x_test, x2 is None))
        return self.model.kernel(x1, x2, **hyperparameters)


def test_both_kernels_equal_the_two_single_calls_from_one_kernel_evaluation(model, data):
    counting = CountingModel(model, data["x_test"])
    times = [0.0, 1.0, 10.0, np.inf]
    both = ntksym.predict(counting, data["x_train"], data["y"], data["x_test"], times, kernel="both",
                          y_test=np.ones((3, 2)))
    assert len(counting.calls) == 3 and isinstance(both, ntksym.Predictions)
    for kernel in ("ntk", "nngp"):
        single = ntksym.predict(model, data["x_train"], data["y"], data["x_test"], times, kernel=kernel,
                                y_test=np.ones((3, 2)))
        part = getattr(both, kernel)
        assert part.kernel == kernel
        for name in ("mean", "cov", "train_mean", "train_loss", "test_loss"):
            np.testing.assert_allclose(getattr(part, name), getattr(single, name), rtol=1e-14, atol=1e-300)
        assert part.max_learning_rate == single.max_learning_rate


@pytest.mark.parametrize("options", [{"cov": False}, {"compute_cov": False}])
def test_without_a_covariance_the_test_test_kernel_is_not_evaluated(model, data, options):
    for kernel in ("ntk", "both"):
        counting = CountingModel(model, data["x_test"])
        p = ntksym.predict(counting, data["x_train"], data["y"], data["x_test"], [1.0, np.inf], kernel=kernel,
                           **options)
        assert len(counting.calls) == 2 and (True, True) not in counting.calls
        for part in (p.ntk, p.nngp) if kernel == "both" else (p,):
            assert part.cov is None and part.mean.shape == (2, 3, 2)
    counting = CountingModel(model, data["x_test"])
    ntksym.predict(counting, data["x_train"], data["y"], data["x_test"], [np.inf])
    assert (True, True) in counting.calls and len(counting.calls) == 3


def test_predict_from_kernels_is_public():
    from ntksym.dynamics import Predictions, predict_from_kernels

    assert ntksym.predict_from_kernels is predict_from_kernels and ntksym.Predictions is Predictions
    assert ntksym.dynamics.predict_from_kernels is predict_from_kernels


@pytest.mark.parametrize(
    ("options", "message"),
    [({"kernel": "all"}, "kernel must be one of ntk, nngp, both, ntkgp, got 'all'"),
     ({"cov": "no"}, "cov must be True or False, got 'no'"),
     ({"compute_cov": 0}, "compute_cov must be True or False, got 0")],
)
def test_bad_new_options_raise_one_clear_error(model, data, options, message):
    with pytest.raises(ntksym.InputError, match=message):
        ntksym.predict(model, data["x_train"], data["y"], data["x_test"], [np.inf], **options)


def test_both_from_kernels_needs_the_nngp_blocks(data):
    with pytest.raises(ntksym.InputError, match='kernel="both" needs nngp_train_train and nngp_test_train'):
        ntksym.predict_from_kernels(data["dd"].ntk, data["td"].ntk, data["y"], [np.inf], kernel="both")
