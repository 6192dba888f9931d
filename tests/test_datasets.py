"""Named datasets (ntksym/runtime/datasets.py) and their use in place of an .npz on the command line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from ntksym.cli.main import app
from ntksym.errors import InputError
from ntksym.runtime import datasets
from ntksym.runtime.datasets import load_dataset


def test_digits_split_is_fixed_unit_norm_and_the_images_hold_the_same_values():
    digits = load_dataset("digits")
    assert digits.x_train.shape == (1000, 64) and digits.x_test.shape == (797, 64)
    np.testing.assert_allclose(np.linalg.norm(digits.x_train, axis=1), 1.0, rtol=1e-12)
    assert sorted(set(digits.y_train)) == list(range(10)) and digits.y_test.dtype == np.int64
    images = load_dataset("digits_images")
    assert images.x_train.shape == (1000, 8, 8, 1)
    np.testing.assert_array_equal(images.x_test.reshape(797, 64), digits.x_test)
    from sklearn.datasets import load_digits

    raw = load_digits()
    first = np.random.default_rng(0).permutation(1797)[0]  # the documented shuffle
    np.testing.assert_allclose(digits.x_train[0], raw.data[first] / np.linalg.norm(raw.data[first]))
    assert digits.y_train[0] == raw.target[first]


def test_unknown_names_and_missing_extras_are_input_errors(monkeypatch):
    with pytest.raises(InputError, match="choose one of digits"):
        load_dataset("cifar10")
    datasets._load.cache_clear()
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # as if the package were not installed
    with pytest.raises(InputError, match=r"pip install 'ntksym\[data\]'"):
        load_dataset("mnist1d")
    datasets._load.cache_clear()


def test_dynamics_on_digits_by_name_classifies_the_test_digits(tmp_path):
    out = tmp_path / "pred.npz"
    result = CliRunner().invoke(app, ["dynamics", "specs/relu_mlp.yaml", "--train", "digits", "--test", "digits",
                                      "--t", "inf", "--kernel", "nngp", "-o", str(out)])
    assert result.exit_code == 2 and "input_shape" in result.stderr  # relu_mlp.yaml takes 8 features
    spec = tmp_path / "digits.yaml"
    spec.write_text(open("specs/relu_mlp.yaml").read().replace("input_shape: [8]", "input_shape: [64]"))
    result = CliRunner().invoke(app, ["dynamics", str(spec), "--train", "digits", "--test", "digits:test",
                                      "--t", "inf", "--kernel", "nngp", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as prediction:
        mean = prediction[[k for k in prediction.files if k.startswith("mean")][0]]
    accuracy = np.mean(np.argmax(mean.reshape(-1, 797, 10)[-1], axis=1) == load_dataset("digits").y_test)
    assert accuracy > 0.97  # 0.99 when this was written


def test_a_bad_part_name_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["dynamics", "specs/relu_mlp.yaml", "--train", "digits:validation",
                                      "--test", "digits", "--t", "inf", "-o", str(tmp_path / "p.npz")])
    assert result.exit_code == 2 and "train or test" in result.stderr


@pytest.mark.slow  # about 12 s: MNIST-1D is generated from its templates
def test_mnist1d_is_generated_offline():
    data = load_dataset("mnist1d")
    assert data.x_train.shape == (4000, 40) and data.x_test.shape == (1000, 40)
    assert sorted(set(data.y_test)) == list(range(10))
    assert load_dataset("mnist1d_sequences").x_train.shape == (4000, 40, 1)
