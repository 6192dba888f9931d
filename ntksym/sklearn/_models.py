"""What the scikit-learn adapters share: specs from paths / YAML text / `Spec`, one compiled model per
(spec, dtype) per process, and turning scikit-learn's 2-D `X` into the spec's inputs.

The compiled model is cached by the spec's hash and the dtype, never by hyperparameter values: those
are arguments of the jitted kernel, so cloning an estimator, `set_params` and every point of a grid
search reuse one compiled program per input shape.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from ntksym.errors import InputError, did_you_mean
from ntksym.spec.load import load_spec, parse_spec
from ntksym.spec.schema import Spec

# specs/relu_mlp.yaml without its `input_shape`, so that any number of features fits (a test keeps the two
# in step); the default of every estimator and kernel here, so that each is constructible with no arguments.
DEFAULT_SPEC = """\
ntksym: 1
name: relu-mlp
description: Five-layer ReLU MLP at the edge of chaos (sigma_w^2 = 2, sigma_b = 0), ntk parameterization.
parameterization: ntk
hyperparameters:
  sigma_w: 1.4142135623730951
  sigma_b: 0.0
layers:
  - repeat: 5
    layers:
      - dense: {width: 512, w_std: sigma_w, b_std: sigma_b}
      - activation: relu
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""

DTYPES = ("float32", "float64")
MAX_MODELS = 16  # compiled models kept per process (least recently used dropped first)


@lru_cache(maxsize=64)
def _parse(text: str) -> Spec:
    return parse_spec(text)


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int, size: int) -> Spec:
    return load_spec(path)


def resolve_spec(spec) -> Spec:
    """A `Spec` from None (the default ReLU MLP), a `Spec`, YAML text or the path of a spec file."""
    if spec is None:
        return _parse(DEFAULT_SPEC)
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and not spec.lstrip().startswith("ntksym:")):
        path = Path(spec)
        try:
            info = path.stat()
        except OSError:
            return load_spec(path)  # its own clear error (not found, permission, ...)
        return _load(str(path), info.st_mtime_ns, info.st_size)
    if isinstance(spec, str):
        return _parse(spec)
    raise InputError(f"spec: expected the path of a spec file, YAML text or an ntksym Spec, got {type(spec).__name__}")


def fully_connected(spec: Spec) -> bool:
    """Specs without a spatial input_shape ([h, w, c] or [w, c]) take flat feature vectors."""
    return spec.input_shape is None or len(spec.input_shape) == 1


@lru_cache(maxsize=64)
def _any_width(spec: Spec) -> Spec:
    digest = hashlib.sha256(f"{spec.sha256}:input_shape=any".encode()).hexdigest()
    return dataclasses.replace(spec, input_shape=None, sha256=digest)


def data_spec(spec: Spec) -> Spec:
    """The spec the estimators compile: a fully connected spec loses its input_shape (the kernel of a
    dense network does not depend on it, and scikit-learn's data may have any number of features)."""
    return _any_width(spec) if spec.input_shape is not None and fully_connected(spec) else spec


def as_inputs(X: np.ndarray, spec: Spec) -> np.ndarray:
    """scikit-learn's (n, features) as the spec's inputs: unchanged for a fully connected spec, reshaped to
    (n, *input_shape) for a spatial one (features in C order, e.g. an image's pixels row by row)."""
    if fully_connected(spec):
        return X
    shape = tuple(spec.input_shape or ())
    if X.shape[1] != math.prod(shape):
        raise ValueError(f"X has {X.shape[1]} features, but the spec `{spec.name}` takes inputs of shape "
                         f"{list(shape)} = {math.prod(shape)} features (flattened in C order)")
    return X.reshape((X.shape[0], *shape))


class _Models:
    """(spec sha256, dtype) -> CompiledModel, least recently used dropped beyond MAX_MODELS; thread safe."""

    def __init__(self) -> None:
        self.models: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.compiles = 0  # how often ntksym.compile ran (a test reads it)

    def get(self, spec: Spec, dtype: str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        key = (spec.sha256, dtype)
        with self.lock:
            model = self.models.get(key)
            if model is not None:
                self.models.move_to_end(key)
                return model
            from ntksym.compile import compile_spec

            model = compile_spec(spec, dtype)
            self.compiles += 1
            self.models[key] = model
            while len(self.models) > MAX_MODELS:
                self.models.popitem(last=False)
            return model

    def clear(self) -> None:
        with self.lock:
            self.models.clear()


MODELS = _Models()


def compiled_model(spec, dtype: str):
    """The cached CompiledModel of `spec` (as `resolve_spec` reads it) for scikit-learn data."""
    return MODELS.get(data_spec(resolve_spec(spec)), dtype)


def compile_count(spec=None, dtype: str = "float64") -> int:
    """How many programs the jitted kernel of `spec` holds: one per distinct pair of input shapes (and
    dtype) it has seen, whatever the hyperparameter values. 0 when the model is not compiled yet."""
    key = (data_spec(resolve_spec(spec)).sha256, dtype)
    model = MODELS.models.get(key)
    if model is None:
        return 0
    module = model.module
    return sum(fn._cache_size() for fn in (module._kernel, module._kernel_with_diagonals))


RESERVED = ("spec", "t", "diag_reg", "dtype", "which", "hyperparameter_bounds")


def hyperparameter_values(spec: Spec, given: dict, owner: str) -> dict[str, float]:
    """The spec's defaults overridden by `given`, as floats; a clear ValueError for unknown names."""
    values = dict(spec.hyperparameters)
    for name, value in given.items():
        if name not in values:
            raise ValueError(f"{owner}: unknown parameter `{name}`{did_you_mean(name, values)}; the spec "
                             f"`{spec.name}` has hyperparameters {', '.join(values) or 'none'}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: hyperparameter `{name}` must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{owner}: hyperparameter `{name}` must be finite, got {value!r}")
        values[name] = number
    clash = sorted(set(values) & set(RESERVED))
    if clash:
        raise ValueError(f"{owner}: the spec's hyperparameter names {clash} clash with the estimator's own "
                         "parameters; rename them in the spec")
    return {k: float(v) for k, v in values.items()}
