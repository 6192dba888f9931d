"""Checks on user data before it reaches a kernel: shape, rank, finiteness."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ntksym.errors import InputError
from ntksym.spec.schema import Spec


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
    if spec.input_shape is None and array.ndim > 2:  # without input_shape the network is fully connected
        raise InputError(f"{name}: expected vectors of shape (examples, features), got shape {array.shape}; "
                         "flatten with x.reshape(len(x), -1), or give the spec an `input_shape`")
    if spec.input_shape is not None and tuple(array.shape[1:]) != tuple(spec.input_shape):
        raise InputError(f"{name}: each example has shape {tuple(array.shape[1:])}, but the spec's input_shape is "
                         f"{list(spec.input_shape)}; fix the data or `input_shape`")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise InputError(f"{name}: contains {bad} NaN or infinite values; clean the data first")
    return array.astype(np.float64, copy=False)


def check_pair(x1: np.ndarray, x2: np.ndarray | None) -> None:
    if x2 is not None and x1.shape[1:] != x2.shape[1:]:
        raise InputError(f"x1 and x2 have different example shapes {x1.shape[1:]} and {x2.shape[1:]}")
