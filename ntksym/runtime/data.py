"""Checks on user data before it reaches a kernel: shape, rank, finiteness."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ntksym.errors import InputError, SpecError
from ntksym.layers import walk_layers
from ntksym.spec import schema as s
from ntksym.spec.schema import Spec

X64_HINT = "compute in float64 (--x64, or dtype='float64')"


def check_inputs(x: ArrayLike, spec: Spec, name: str = "x") -> np.ndarray:
    """`x` as a float array of shape (n, *input_shape), or an `InputError` that says how to fix it."""
    try:
        array = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{name}: cannot be read as an array ({exc})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{name}: expected numbers, got an array of {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{name}: complex data is not supported; pass real features")
    if array.ndim < 2:
        raise InputError(f"{name}: expected an array of shape (examples, features), got shape {array.shape}; "
                         "reshape a single example with x[None, :]")
    if array.shape[0] == 0:
        raise InputError(f"{name}: holds no examples (shape {array.shape})")
    if array.size == 0:
        raise InputError(f"{name}: each example holds no features (shape {array.shape}); give at least one feature")
    if spec.input_shape is None and array.ndim > 2:  # without input_shape the network is fully connected
        raise InputError(f"{name}: expected vectors of shape (examples, features), got shape {array.shape}; "
                         "flatten with x.reshape(len(x), -1), or give the spec an `input_shape`")
    if spec.input_shape is not None and tuple(array.shape[1:]) != tuple(spec.input_shape):
        raise InputError(f"{name}: each example has shape {tuple(array.shape[1:])}, but the spec's input_shape is "
                         f"{list(spec.input_shape)}; fix the data or `input_shape`")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise InputError(f"{name}: contains {bad} NaN or infinite values; clean the data first")
    with np.errstate(all="ignore"):  # float128 / huge ints beyond float64 become inf here
        out = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(out)):
        raise InputError(f"{name}: holds values beyond float64's range (largest {np.finfo(np.float64).max:.3g}); "
                         "rescale the data")
    return out


def check_range(x: np.ndarray, dtype: str, name: str = "x") -> None:
    """Refuse float64 data `x` whose values, or whose squared norms (the first layer's input covariance),
    are beyond `dtype`'s range: casting would make them inf, and the kernel's overflow would be blamed
    on the network."""
    largest = float(np.finfo(dtype).max)
    with np.errstate(all="ignore"):
        top = float(np.max(np.abs(x))) if x.size else 0.0
        second = float(np.max(np.mean(np.square(x.reshape(len(x), -1)), axis=1))) if x.size else 0.0
    if top > largest:
        raise InputError(f"{name}: holds values up to {top:.3g}, beyond {dtype}'s range (largest {largest:.3g}); "
                         f"rescale the data or {X64_HINT}")
    if not second <= largest:
        raise InputError(f"{name}: the mean square of an example overflows {dtype} (largest {largest:.3g}); "
                         "rescale the data" + ("" if dtype == "float64" else f" or {X64_HINT}"))


def representable(value: float, dtype: str) -> str | None:
    """Why the finite float `value` is not representable in `dtype` (None if it is)."""
    largest = float(np.finfo(dtype).max)
    if abs(value) > largest:
        return f"{value:g} is beyond {dtype}'s range (largest {largest:.3g}); {X64_HINT} or use a smaller value"
    with np.errstate(all="ignore"):
        if value != 0 and np.asarray(value, dtype) == 0:
            return f"{value:g} rounds to 0 in {dtype}; {X64_HINT} or write 0"
    return None


def check_spec_numbers(spec: Spec, dtype: str) -> None:
    """Every number of `spec` that reaches a compiled computation (hyperparameter values, and the
    literal w_std / b_std / scale / activation parameters baked into the generated code), representable
    in `dtype`; else a `SpecError` naming the key."""
    def check(path: str, value) -> None:
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                check(f"{path}[{i}]", item)
        elif isinstance(value, float) and (why := representable(value, dtype)):
            raise SpecError(why, file=spec.source, path=path)

    for name, value in spec.hyperparameters:
        check(f"hyperparameters.{name}", value)
    for layer in walk_layers(spec.layers):
        if isinstance(layer, s.Activation):
            if layer.name != "expr":  # an expr's params are the hyperparameters, checked above
                for key, value in layer.params:
                    check(f"{layer.path}.{key}", value)
            continue
        for key in ("w_std", "b_std", "scale"):
            check(f"{layer.path}.{key}", getattr(layer, key, None))


def check_hyperparameter_values(values: dict, spec: Spec, dtype: str) -> dict:
    """Hyperparameters given to a call: the spec's names, real finite numbers representable in `dtype`,
    and whole numbers in range where the spec uses them as repeat counts."""
    from ntksym.spec.load import MAX_COUNT

    known = spec.hyperparameter_values
    unknown = set(values) - set(known)
    if unknown:
        raise InputError(f"unknown hyperparameters {sorted(unknown)}; the spec defines {sorted(known)}")
    counts = {layer.count.name for layer in walk_layers(spec.layers) if isinstance(layer, s.Repeat)
              and isinstance(layer.count, s.Ref)}
    for key, value in values.items():
        try:
            if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0 or np.iscomplexobj(value):
                raise TypeError
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"hyperparameter `{key}` must be a real number, got {value!r}") from None
        if not np.isfinite(number):
            raise InputError(f"hyperparameter `{key}` must be a finite number, got {value!r}")
        if why := representable(number, dtype):
            raise InputError(f"hyperparameter `{key}`: {why}")
        if key in counts and not (number == int(number) and 1 <= number <= MAX_COUNT):
            raise InputError(f"hyperparameter `{key}` is a repeat count: expected a whole number from 1 to "
                             f"{MAX_COUNT:,}, got {value!r}")
    return values


def check_pair(x1: np.ndarray, x2: np.ndarray | None) -> None:
    if x2 is not None and x1.shape[1:] != x2.shape[1:]:
        raise InputError(f"x1 and x2 have different example shapes {x1.shape[1:]} and {x2.shape[1:]}")
