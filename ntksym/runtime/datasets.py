"""Real data to try kernels on without downloading: scikit-learn's digits and MNIST-1D, by name.

- `digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), a fixed shuffle
  (seed 0), 1000 train / 797 test, each image as 64 features scaled to unit norm; `digits_images` is the
  same split as (8, 8, 1) images for convolutional specs.
- `mnist1d`: MNIST-1D (Greydanus 2020, "Scaling down deep learning"), generated offline by the `mnist1d`
  package with its default arguments (seed 42): 4000 train / 1000 test sequences of length 40, 10 classes,
  scaled to unit norm; `mnist1d_sequences` keeps them as (40, 1) sequences.

Both need the optional extra: `pip install 'ntksym[data]'`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ntksym.errors import InputError

DATASETS = ("digits", "digits_images", "mnist1d", "mnist1d_sequences")


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray  # integer class labels
    x_test: np.ndarray
    y_test: np.ndarray

    def split(self, part: str) -> dict[str, np.ndarray]:
        """{'x', 'y'} of the 'train' or 'test' part (the arrays an .npz would hold)."""
        if part == "train":
            return {"x": self.x_train, "y": self.y_train}
        return {"x": self.x_test, "y": self.y_test}


def load_dataset(name: str) -> Dataset:
    """The named dataset (see the module docstring); an InputError names the choices or the missing extra."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or give an .npz file")
    return _load(name)


@lru_cache(maxsize=4)
def _load(name: str) -> Dataset:
    base = name.split("_")[0]
    x, y, x_test, y_test = _digits() if base == "digits" else _mnist1d()
    if name == "digits_images":
        x, x_test = x.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    elif name == "mnist1d_sequences":
        x, x_test = x[..., None], x_test[..., None]
    return Dataset(name, x, y, x_test, y_test)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)


def _digits() -> tuple[np.ndarray, ...]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the dataset `digits` needs scikit-learn: pip install 'ntksym[data]'") from None
    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    x, y = _unit_rows(data.data[order]), data.target[order].astype(np.int64)
    return x[:1000], y[:1000], x[1000:], y[1000:]


def _mnist1d() -> tuple[np.ndarray, ...]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise InputError("the dataset `mnist1d` needs the mnist1d package: pip install 'ntksym[data]'") from None
    data = make_dataset(get_dataset_args())  # generated from its templates: nothing is downloaded
    return (_unit_rows(data["x"]), np.asarray(data["y"], np.int64), _unit_rows(data["x_test"]),
            np.asarray(data["y_test"], np.int64))
