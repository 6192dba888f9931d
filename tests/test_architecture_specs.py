"""The example specs of residual, layer-norm and convolutional architectures load, derive and evaluate."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

import ntksym

SPECS = ["resnet_mlp.yaml", "layernorm_mlp.yaml", "cnn_global_pool.yaml", "cnn_flatten.yaml"]


@pytest.mark.parametrize("name", SPECS)
def test_example_spec_gives_a_positive_definite_kernel(name):
    spec = ntksym.load_spec(ROOT / "specs" / name)
    assert spec.description and spec.input_shape
    assert ntksym.derive(spec).text().startswith(f"Derivation of `{spec.name}`")
    x = np.random.default_rng(0).standard_normal((3, *spec.input_shape))
    k = ntksym.compile(spec, dtype="float64").kernel(x)
    for matrix in (k.nngp, k.ntk):
        assert matrix.shape == (3, 3)
        assert np.linalg.eigvalsh((matrix + matrix.T) / 2).min() > 0


def test_cnn_flatten_spec_keeps_only_the_pixel_diagonal():
    from ntksym.symbolic.spatial_plan import spatial_plan

    for name, mode, floats in (
        ("cnn_flatten.yaml", "diagonal", 256),
        ("cnn_global_pool.yaml", "full", 64**2),
    ):
        spec = ntksym.load_spec(ROOT / "specs" / name)
        plan = spatial_plan(spec, ntksym.derive(spec).steps)
        assert (plan.mode, plan.floats_per_pair) == (mode, floats)
