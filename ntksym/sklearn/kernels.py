"""A spec's NNGP or NTK as a scikit-learn kernel: for GaussianProcessRegressor / Classifier (with the
gradient in the log-hyperparameters, by forward-mode differentiation through the generated kernel) and,
being callable as k(X, Y), for SVC(kernel=...), KernelRidge(kernel=...) and friends.

    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, WhiteKernel
    k = ConstantKernel() * NNGPKernel("specs/relu_mlp.yaml") + WhiteKernel()
    GaussianProcessRegressor(k).fit(X, y)          # fits sigma_w (and sigma_b if > 0) by marginal likelihood
    SVC(kernel=NTKKernel()).fit(X, y)              # grid-search its hyperparameters as kernel__sigma_w
"""

from __future__ import annotations

import weakref

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from ntksym.codegen.preludes.kernel import jit
from ntksym.sklearn._models import MODELS, as_inputs, data_spec, hyperparameter_values, resolve_spec

DEFAULT_BOUNDS = (1e-2, 1e2)
KINDS = ("nngp", "ntk")


def _gradient_program(model):
    """jit(X, hyperparameter values) -> (NNGP, NTK, dNNGP/dh, dNTK/dh), the derivatives (n, n, hyperparameters)
    by forward mode through the generated kernel: one program per model and X shape, shared by the NNGP and
    NTK kernels and by every choice of free hyperparameters (kept while the model lives)."""
    program = _PROGRAMS.get(model)
    if program is None:
        module, names = model.module, tuple(model.hyperparameters)  # the closure holds the module, not the model

        def grams(x, h):
            nngp, ntk = module.kernel(x, None, **dict(zip(names, h)))
            return jnp.stack([nngp, ntk])

        def both(x, h):
            k = grams(x, h)
            return k, jax.jacfwd(lambda v: grams(x, v))(h)  # (2, n, n), (2, n, n, hyperparameters)

        program = _PROGRAMS[model] = jit(both, xla_options=module.XLA_OPTIONS)  # the kernel's own XLA options
    return program


_PROGRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class NetworkKernel(Kernel):
    """The NNGP (which="nngp") or NTK (which="ntk") of a spec's infinite network as a scikit-learn kernel.

    spec: None (the five-layer ReLU MLP of specs/relu_mlp.yaml), a path, YAML text or a Spec. The spec's
    hyperparameters are the kernel's (get_params, kernel__sigma_w in a grid search); those > 0 are
    optimised by GaussianProcessRegressor on a log scale within `hyperparameter_bounds` (a dict name ->
    (low, high) or "fixed"; default (1e-2, 1e2)); those <= 0 are fixed (a log scale cannot hold them).
    dtype: "float64" (default) or "float32". Not stationary; needs vector inputs.
    """

    _base_params = ("spec", "which", "dtype", "hyperparameter_bounds")

    def __init__(self, spec=None, which="nngp", dtype="float64", hyperparameter_bounds=None, **hyperparameters):
        self.spec = spec
        self.which = which
        self.dtype = dtype
        self.hyperparameter_bounds = hyperparameter_bounds
        self._hyperparameters = dict(hyperparameters)

    # -- parameters: the __init__ ones plus the spec's hyperparameters ---------------------------------
    def _spec(self):
        return data_spec(resolve_spec(self.spec))

    def get_params(self, deep=True):
        params = {name: getattr(self, name) for name in self._base_params}
        for name, value in self._spec().hyperparameters:
            params[name] = self._hyperparameters.get(name, value)
        for name, value in self._hyperparameters.items():
            params.setdefault(name, value)
        return params

    def set_params(self, **params):
        if "spec" in params:
            self.spec = params["spec"]
            names = dict(self._spec().hyperparameters)
            self._hyperparameters = {k: v for k, v in self._hyperparameters.items() if k in names}
        for name, value in params.items():
            if name == "spec":
                continue
            if name in self._base_params:
                setattr(self, name, value)
            else:
                self._hyperparameters[name] = value
        return self

    def _values(self) -> dict[str, float]:
        if self.which not in KINDS:
            raise ValueError(f"{type(self).__name__}: which must be 'nngp' or 'ntk', got {self.which!r}")
        return hyperparameter_values(self._spec(), self._hyperparameters, type(self).__name__)

    def _bounds_of(self, name: str, value: float):
        given = (self.hyperparameter_bounds or {}).get(name)
        if given is not None:
            return given
        return "fixed" if value <= 0 else DEFAULT_BOUNDS

    @property
    def hyperparameters(self):
        return [Hyperparameter(name, "numeric", self._bounds_of(name, value)) for name, value in self._values().items()]

    def _free(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters if not h.fixed)

    # -- the kernel ------------------------------------------------------------------------------------
    def _model(self):
        return MODELS.get(self._spec(), self.dtype)

    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected X of shape (n, features), got {X.shape}")
        return as_inputs(X, self._spec())

    def __call__(self, X, Y=None, eval_gradient=False):
        values = self._values()
        model = self._model()
        x = self._inputs(X)
        if eval_gradient:
            if Y is not None:
                raise ValueError("Gradient can only be evaluated when Y is None.")
            names = self._free()
            if not names:
                k = getattr(model.kernel(x, None, **values), self.which)
                return np.asarray(k, np.float64), np.empty((x.shape[0], x.shape[0], 0))
            order = tuple(model.hyperparameters)
            h = np.array([values[n] for n in order])
            k, jac = _gradient_program(model)(jnp.asarray(x, model.dtype), jnp.asarray(h, model.dtype))
            index = KINDS.index(self.which)
            columns = [order.index(n) for n in names]
            k = np.asarray(k[index], np.float64)
            jac = np.asarray(jac[index], np.float64)[..., columns] * h[columns]  # dK/dlog h = h dK/dh
            if not (np.isfinite(k).all() and np.isfinite(jac).all()):
                from ntksym.errors import NumericalError

                raise NumericalError(f"the {self.which} of `{model.spec.name}` or its gradient is not finite at "
                                     f"{values}; narrow `hyperparameter_bounds`")
            return k, jac
        y = None if Y is None else self._inputs(Y)
        return np.asarray(getattr(model.kernel(x, y, **values), self.which), np.float64)

    def diag(self, X):
        """k(x, x) for each row of X (the exact same-input recursion, O(n))."""
        x = self._inputs(X)
        model = self._model()
        diagonal = model.module.kernel_with_diagonals(x, x[:1], **self._values())[2 + KINDS.index(self.which)]
        return np.asarray(diagonal, np.float64)

    def is_stationary(self):
        return False

    @property
    def requires_vector_input(self):
        return True

    def __repr__(self):
        values = ", ".join(f"{k}={v:.3g}" for k, v in self._values().items())
        return f"{type(self).__name__}({self._spec().name}{', ' + values if values else ''})"


class NNGPKernel(NetworkKernel):
    """The NNGP of a spec's infinite network (the GP prior of the network's outputs); see NetworkKernel."""

    def __init__(self, spec=None, which="nngp", dtype="float64", hyperparameter_bounds=None, **hyperparameters):
        super().__init__(spec, which, dtype, hyperparameter_bounds, **hyperparameters)


class NTKKernel(NetworkKernel):
    """The NTK of a spec's infinite network; see NetworkKernel."""

    def __init__(self, spec=None, which="ntk", dtype="float64", hyperparameter_bounds=None, **hyperparameters):
        super().__init__(spec, which, dtype, hyperparameter_bounds, **hyperparameters)


def kernel_function(spec=None, which: str = "ntk", dtype: str = "float64", **hyperparameters) -> NetworkKernel:
    """A callable k(X, Y) -> (n_X, n_Y) array for SVC(kernel=...), KernelRidge(kernel=...): the kernel
    object itself (picklable, and its hyperparameters are grid-searchable as kernel__<name>)."""
    return NetworkKernel(spec, which, dtype, **hyperparameters)
