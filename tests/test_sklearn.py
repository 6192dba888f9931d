"""ntksym.sklearn: estimators and kernels that follow scikit-learn's conventions, checked against ntksym's
own dynamics, scikit-learn's estimator checks, and a grid search that must not recompile per point."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils import estimator_checks as ec  # noqa: E402

import ntksym  # noqa: E402
import ntksym.sklearn as nsk  # noqa: E402
from ntksym.runtime.dynamics import predict_from_kernels  # noqa: E402
from ntksym.sklearn import NNGPClassifier, NNGPKernel, NNGPRegressor, NTKClassifier, NTKKernel, NTKRegressor  # noqa: E402
from ntksym.sklearn._models import as_inputs, data_spec  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

ESTIMATORS = [NTKRegressor, NNGPRegressor, NTKClassifier, NNGPClassifier]
ERF = """ntksym: 1
name: erf-sk
hyperparameters: {w: 1.5, b: 0.3}
layers:
  - repeat: 3
    layers:
      - dense: {w_std: w, b_std: b}
      - activation: erf
  - dense: {w_std: 1.0}
"""


@pytest.fixture(autouse=True, scope="module")
def _drop_models():
    """The shared compiled models go with this file (conftest frees XLA's programs after it)."""
    yield
    nsk.MODELS.clear()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x, xt = rng.normal(size=(24, 5)), rng.normal(size=(8, 5))
    return x, np.sin(x[:, 0]) + x[:, 1], xt


def test_import_ntksym_does_not_import_sklearn_and_a_missing_sklearn_says_how_to_install():
    code = ("import sys, ntksym\nprint('sklearn' in sys.modules)\nsys.modules['sklearn'] = None\n"
            "try:\n    import ntksym.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.startswith("False\n"), out  # `import ntksym` did not import sklearn
    assert "pip install 'ntksym[data]'" in out and "scikit-learn" in out


def test_default_spec_is_the_bundled_relu_mlp_for_any_width():
    bundled, default = ntksym.load_spec(ROOT / "specs" / "relu_mlp.yaml"), nsk.resolve_spec(None)
    assert default.layers == bundled.layers and default.hyperparameters == bundled.hyperparameters
    assert default.input_shape is None and bundled.input_shape == (8,)
    stripped = data_spec(bundled)  # a dense spec takes any number of features; its own hash
    assert stripped.input_shape is None and stripped.sha256 != bundled.sha256
    assert nsk.resolve_spec(str(ROOT / "specs" / "relu_mlp.yaml")) == bundled  # path, text or Spec
    assert nsk.resolve_spec((ROOT / "specs" / "relu_mlp.yaml").read_text()) == bundled


@pytest.mark.parametrize("cls,which", [(NTKRegressor, "ntk"), (NNGPRegressor, "nngp")])
@pytest.mark.parametrize("t", [math.inf, 2.0])
def test_regressors_are_ntksym_dynamics(data, cls, which, t):
    x, y, xt = data
    est = cls(t=t, diag_reg=1e-4, sigma_b=0.1).fit(x, y)
    model = nsk.compiled_model(None, "float64")
    train, cross = model.kernel(x, None, sigma_b=0.1), model.kernel(xt, x, sigma_b=0.1)
    want = predict_from_kernels(getattr(train, which), getattr(cross, which), y, [t], kernel=which, diag_reg=1e-4,
                                cov=False).mean[0, :, 0]
    np.testing.assert_allclose(est.predict(xt), want, rtol=1e-10, atol=1e-12)
    assert est.predict(xt).shape == (8,) and est.n_features_in_ == 5
    if (which, t) != ("ntk", 2.0):
        return
    y2 = np.stack([y, -2 * y], 1)  # several outputs (at finite t time runs slower: the loss is over n k numbers)
    want2 = predict_from_kernels(getattr(train, which), getattr(cross, which), y2, [t], kernel=which, diag_reg=1e-4,
                                 cov=False).mean[0]
    np.testing.assert_allclose(cls(t=t, diag_reg=1e-4, sigma_b=0.1).fit(x, y2).predict(xt), want2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [NTKClassifier, NNGPClassifier])
def test_classifiers_regress_one_hot_targets(data, cls):
    x, y, xt = data
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])]
    clf = cls(diag_reg=1e-4).fit(x, labels)
    assert list(clf.classes_) == ["high", "low", "mid"] and clf.score(x, labels) == 1.0  # interpolates
    proba, scores = clf.predict_proba(xt), clf.decision_function(xt)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(proba, np.exp(scores) / np.exp(scores).sum(1, keepdims=True))  # softmax
    assert (clf.classes_[proba.argmax(1)] == clf.predict(xt)).all()
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(xt))
    binary = cls(diag_reg=1e-4).fit(x, y > 0)
    assert binary.decision_function(xt).shape == (8,)
    assert ((binary.decision_function(xt) > 0) == binary.predict(xt)).all()


def test_hyperparameters_are_parameters_and_survive_clone_set_params_and_pickle(data):
    est = NTKRegressor(sigma_w=1.2)
    params = est.get_params()
    assert params == {"spec": None, "t": math.inf, "diag_reg": 1e-6, "dtype": "float64", "sigma_w": 1.2,
                      "sigma_b": 0.0}
    copy = clone(est)
    assert copy.get_params() == params and copy is not est
    copy.set_params(sigma_b=0.3, t=5.0)
    assert copy.get_params()["sigma_b"] == 0.3 and copy.t == 5.0 and est.get_params()["sigma_b"] == 0.0
    copy.set_params(spec=ERF)  # a new spec forgets the old one's hyperparameters
    assert {k: v for k, v in copy.get_params().items() if k not in nsk.estimators.BASE_PARAMS} == {"w": 1.5, "b": 0.3}
    with pytest.raises(ValueError, match="unknown parameter `sigma_ww`.*Did you mean `sigma_w`"):
        NTKRegressor(sigma_ww=1.0).fit(*data[:2])
    x, y, xt = data
    fitted = NTKRegressor(sigma_b=0.1).fit(x, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(xt), fitted.predict(xt))
    assert "sigma_w=1.2" in repr(est)


def test_grid_search_compiles_once_per_input_shape_not_per_grid_point(data):
    """3 values x 3 folds = 9 fits, 9 scorings and a refit share one compiled model and at most one XLA
    program per distinct input shape pair ((24, 24) fit, (12, 24) predict, (36, 36) refit); a second
    search over other values compiles nothing at all."""
    x = np.concatenate([data[0], data[2], data[2][:4] + 0.5])  # 36 rows: folds of 12, so 24 train rows
    y = x[:, 0] - x[:, 1] ** 2
    nsk.compiled_model(None, "float64")  # code generated once (or already); count XLA programs from here
    compiles, programs = nsk.MODELS.compiles, nsk.compile_count()
    search = GridSearchCV(NTKRegressor(sigma_b=0.2), {"sigma_w": [1.0, 1.4, 2.0]}, cv=3).fit(x, y)
    assert nsk.MODELS.compiles == compiles  # ntksym.compile: not again
    assert 2 <= nsk.compile_count() - programs <= 3  # the jitted kernel's cache misses: one per new input shape
    scores = search.cv_results_["mean_test_score"]
    assert len(set(np.round(scores, 12))) == 3  # the hyperparameter did reach the kernel
    programs = nsk.compile_count()
    GridSearchCV(NTKRegressor(sigma_b=0.3), {"sigma_w": [0.8, 1.2, 1.6, 2.4]}, cv=3).fit(x, y)
    assert nsk.compile_count() == programs and nsk.MODELS.compiles == compiles


def test_fully_connected_spec_with_an_input_shape_takes_any_width_and_spatial_specs_reshape(data):
    x, y, xt = data
    path = str(ROOT / "specs" / "relu_mlp.yaml")  # input_shape [8], data with 5 features
    np.testing.assert_allclose(NTKRegressor(path, sigma_b=0.1).fit(x, y).predict(xt),
                               NTKRegressor(sigma_b=0.1).fit(x, y).predict(xt), rtol=1e-12)
    cnn = ntksym.load_spec(ROOT / "specs" / "cnn_flatten.yaml")
    n = math.prod(cnn.input_shape)
    flat = np.arange(2 * n, dtype=float).reshape(2, n)
    assert as_inputs(flat, cnn).shape == (2, *cnn.input_shape) and data_spec(cnn) is cnn
    with pytest.raises(ValueError, match=f"takes inputs of shape .* = {n} features"):
        as_inputs(flat[:, :-1], cnn)


def test_network_kernel_gradient_matches_finite_differences_and_drives_a_gp(data):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, WhiteKernel

    x, y, _ = data
    k = NNGPKernel(sigma_w=1.2, sigma_b=0.3)
    assert [h.name for h in k.hyperparameters] == ["sigma_w", "sigma_b"] and np.allclose(np.exp(k.theta), [1.2, 0.3])
    K, grad = k(x, eval_gradient=True)
    np.testing.assert_allclose(K, k(x), rtol=1e-13)
    np.testing.assert_allclose(k.diag(x), np.diag(K), rtol=1e-13)
    for i in range(2):
        step = np.eye(2)[i] * 1e-6
        fd = (k.clone_with_theta(k.theta + step)(x) - k.clone_with_theta(k.theta - step)(x)) / 2e-6
        np.testing.assert_allclose(grad[..., i], fd, rtol=1e-6, atol=1e-8)
    assert not k.is_stationary() and k.requires_vector_input
    relu = NTKKernel()  # sigma_b = 0 cannot be on a log scale: fixed
    assert [h.fixed for h in relu.hyperparameters] == [False, True] and relu(x, eval_gradient=True)[1].shape == (24, 24, 1)
    gp = GaussianProcessRegressor(ConstantKernel() * k + WhiteKernel(1e-2), random_state=0).fit(x, y)
    assert gp.score(x, y) > 0.9 and gp.kernel_.k1.k2.get_params()["sigma_w"] != 1.2  # optimised
    assert NNGPKernel(ERF).get_params()["w"] == 1.5  # another spec, its own hyperparameters


def test_kernel_is_an_svc_callable_with_grid_searchable_hyperparameters(data):
    from sklearn.svm import SVC

    x, y, _ = data
    search = GridSearchCV(SVC(kernel=NTKKernel(sigma_b=0.1)), {"kernel__sigma_w": [1.0, 2.0], "C": [1.0, 10.0]},
                          cv=2).fit(x, y > 0)
    assert search.best_params_["kernel__sigma_w"] in (1.0, 2.0) and search.score(x, y > 0) > 0.8
    f = nsk.kernel_function(sigma_w=1.0)
    assert f(x[:3], x).shape == (3, 24)


# scikit-learn's checks that need no or few fits (each fit of a new shape compiles, ~1-3 s)
FAST_CHECKS = [ec.check_parameters_default_constructible, ec.check_no_attributes_set_in_init, ec.check_get_params_invariance,
               ec.check_set_params, ec.check_do_not_raise_errors_in_init_or_set_params, ec.check_estimator_cloneable,
               ec.check_estimator_repr, ec.check_estimators_unfitted, ec.check_mixin_order, ec.check_fit2d_1sample]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_scikit_learn_api_checks_fast(cls):
    for check in FAST_CHECKS:
        check(cls.__name__, cls())


@pytest.mark.slow
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_check_estimator(cls):
    """The whole of scikit-learn's check_estimator (90-150 s each on 2 busy cores: many input shapes)."""
    results = ec.check_estimator(cls(), on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert not failed, failed
