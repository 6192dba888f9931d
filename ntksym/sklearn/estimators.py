"""scikit-learn estimators on the infinite network of a spec: kernel regression (t = inf) or the mean of
the infinite ensemble after gradient-flow training for a time t (Lee et al. 2019), with the NTK (all
layers trained) or the NNGP (readout only; t = inf is the GP posterior mean).

    from ntksym.sklearn import NTKRegressor, NTKClassifier
    GridSearchCV(NTKClassifier("specs/relu_mlp.yaml"), {"sigma_w": [1.0, 1.4, 2.0], "diag_reg": [1e-4, 1e-2]})

The spec's hyperparameters are estimator parameters (get_params / set_params / grid searches); they are
arguments of the compiled kernel, so no value of them recompiles anything.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ntksym.runtime.dynamics import predict_from_kernels
from ntksym.sklearn._models import as_inputs, compiled_model, data_spec, hyperparameter_values, resolve_spec

BASE_PARAMS = ("spec", "t", "diag_reg", "dtype")


class _SpecParams:
    """get_params / set_params that add the spec's hyperparameters (kept in `_hyperparameters`) to the
    parameters of `__init__`. Never raises in __init__ or set_params: values are checked in fit."""

    _base_params = BASE_PARAMS

    def _spec_or_none(self):
        try:
            return resolve_spec(self.spec)
        except Exception:  # noqa: BLE001 - an invalid spec is reported by fit, not by get_params
            return None

    def get_params(self, deep=True):
        params = {name: getattr(self, name) for name in self._base_params}
        spec = self._spec_or_none()
        defaults = {} if spec is None else dict(spec.hyperparameters)
        for name, value in defaults.items():
            if name not in params:
                params[name] = self._hyperparameters.get(name, value)
        for name, value in self._hyperparameters.items():
            params.setdefault(name, value)
        return params

    def set_params(self, **params):
        """Set estimator parameters and spec hyperparameters. A new `spec` forgets the values of
        hyperparameters it does not define (unless they are given in the same call)."""
        if "spec" in params:
            self.spec = params["spec"]
            new = self._spec_or_none()
            if new is not None:
                names = dict(new.hyperparameters)
                self._hyperparameters = {k: v for k, v in self._hyperparameters.items() if k in names}
        for name, value in params.items():
            if name == "spec":
                continue
            if name in self._base_params:
                setattr(self, name, value)
            else:
                self._hyperparameters[name] = value
        return self

    def _resolved(self):
        """(spec for the data, hyperparameter values, compiled model), checked."""
        owner = type(self).__name__
        if not (isinstance(self.diag_reg, (int, float, np.number)) and np.isfinite(self.diag_reg) and self.diag_reg >= 0):
            raise ValueError(f"{owner}: diag_reg must be a number >= 0, got {self.diag_reg!r}")
        if not (isinstance(self.t, (int, float, np.number)) and not np.isnan(self.t) and self.t >= 0):
            raise ValueError(f"{owner}: t must be a time >= 0 (np.inf: kernel regression), got {self.t!r}")
        spec = data_spec(resolve_spec(self.spec))
        values = hyperparameter_values(spec, self._hyperparameters, owner)
        return spec, values, compiled_model(spec, self.dtype)


class _KernelEstimator(_SpecParams, BaseEstimator):
    _which = "ntk"

    def __init__(self, spec=None, *, t=np.inf, diag_reg=1e-6, dtype="float64", **hyperparameters):
        self.spec = spec
        self.t = t
        self.diag_reg = diag_reg
        self.dtype = dtype
        self._hyperparameters = dict(hyperparameters)

    def _fit_targets(self, X, Y):
        spec, values, model = self._resolved()
        x = as_inputs(X, spec)
        train = model.kernel(x, None, **values)
        k_dd = train.ntk if self._which == "ntk" else train.nngp
        n = x.shape[0]
        # the mean prediction is linear in the test-train kernel: with it = identity the machinery of
        # `predict_from_kernels` returns the dual coefficients, so predict is one product
        p = predict_from_kernels(k_dd, np.eye(n, dtype=k_dd.dtype), Y, [float(self.t)], kernel=self._which,
                                 diag_reg=float(self.diag_reg), cov=False)
        self.X_fit_ = x
        self.dual_coef_ = np.asarray(p.mean[0], dtype=np.float64)
        self.hyperparameters_ = values
        self.train_loss_ = float(p.train_loss[0])
        return self

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        spec = data_spec(resolve_spec(self.spec))
        model = compiled_model(spec, self.dtype)
        cross = model.kernel(as_inputs(X, spec), self.X_fit_, **self.hyperparameters_)
        k_td = cross.ntk if self._which == "ntk" else cross.nngp
        return np.asarray(k_td, dtype=np.float64) @ self.dual_coef_


class _Regressor(RegressorMixin, _KernelEstimator):
    def fit(self, X, y):
        """Train the infinite ensemble on (X, y): y of shape (n,) or (n, outputs)."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        return self._fit_targets(X, y[:, None] if y.ndim == 1 else y)

    def predict(self, X):
        """The mean output of the trained infinite ensemble on X: (n,) or (n, outputs) like y."""
        scores = self._scores(X)
        return scores[:, 0] if self._y_1d else scores

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class NTKRegressor(_Regressor):
    """Regression with the NTK of a spec's infinite network.

    t = inf (default): NTK kernel regression, K_td (K_dd + reg)^-1 y, the end of gradient-flow training
    of every layer; finite t: the ensemble's mean after training for time t (loss sum((f - y)^2) / (2 n k),
    learning rate 1). diag_reg is added to the train kernel's diagonal times its mean diagonal. The spec's
    hyperparameters (e.g. sigma_w, sigma_b of the default ReLU MLP) are parameters too.

    Parameters: spec (None: the five-layer ReLU MLP of specs/relu_mlp.yaml; a path, YAML text or a Spec),
    t, diag_reg, dtype ("float64" or "float32"), **hyperparameters.
    Attributes after fit: X_fit_, dual_coef_ (n, outputs), hyperparameters_, train_loss_, n_features_in_.
    """

    _which = "ntk"


class NNGPRegressor(_Regressor):
    """Regression with the NNGP of a spec's infinite network: at t = inf the Gaussian-process posterior
    mean with noise variance diag_reg times the mean prior variance; finite t: the mean after training
    only the readout for time t. Parameters as `NTKRegressor`."""

    _which = "nngp"


class _Classifier(ClassifierMixin, _KernelEstimator):
    def fit(self, X, y):
        """Regress one-hot targets (one column per class) on X with the infinite ensemble."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        onehot = np.zeros((len(codes), len(self.classes_)))
        onehot[np.arange(len(codes)), codes] = 1.0
        return self._fit_targets(X, onehot)

    def decision_function(self, X):
        """The regressed one-hot scores (n, classes); for two classes score[1] - score[0], shape (n,)."""
        check_is_fitted(self)
        scores = self._scores(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores[:, 0] if len(self.classes_) == 1 else scores

    def predict(self, X):
        """The class with the largest regressed score."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def predict_proba(self, X):
        """Softmax (temperature 1) of the regressed one-hot scores: rows sum to 1 and their argmax is
        `predict`. The scores regress 0/1 targets, so these are not calibrated probabilities (10 classes:
        at most e / (e + 9) = 0.23 for a perfect score); calibrate with CalibratedClassifierCV if needed."""
        scores = self._scores(X)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        scores = self._scores(X)
        scores = scores - scores.max(axis=1, keepdims=True)
        return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


class NTKClassifier(_Classifier):
    """Classification by NTK regression of one-hot targets (one output per class) on a spec's infinite
    network: predict is the largest score, predict_proba the softmax of the scores (see there).
    Parameters as `NTKRegressor`; attributes also classes_."""

    _which = "ntk"


class NNGPClassifier(_Classifier):
    """Classification by NNGP (GP posterior mean) regression of one-hot targets; as `NTKClassifier`."""

    _which = "nngp"
