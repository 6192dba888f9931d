"""The example specs of residual, layer-norm and convolutional architectures load and derive; their kernels
are checked against an independent recursion in test_specs.py (one compile per spec for the whole suite)."""

from __future__ import annotations

import pytest
from conftest import ROOT

import ntksym

SPECS = ["resnet_mlp.yaml", "layernorm_mlp.yaml", "cnn_global_pool.yaml", "cnn_flatten.yaml"]


@pytest.mark.parametrize("name", SPECS)
def test_example_spec_documents_itself_and_derives(name):
    spec = ntksym.load_spec(ROOT / "specs" / name)
    assert spec.description and spec.input_shape
    assert ntksym.derive(spec).text().startswith(f"Derivation of `{spec.name}`")


def test_cnn_flatten_spec_keeps_only_the_pixel_diagonal():
    from ntksym.symbolic.spatial_plan import spatial_plan

    for name, mode, floats in (
        ("cnn_flatten.yaml", "diagonal", 256),
        ("cnn_global_pool.yaml", "full", 64**2),
    ):
        spec = ntksym.load_spec(ROOT / "specs" / name)
        plan = spatial_plan(spec, ntksym.derive(spec).steps)
        assert (plan.mode, plan.floats_per_pair) == (mode, floats)
