"""Extra neural-tangents kernels (tools/make_reference_cases.py): 1-D and 2-D convolutions, strides,
VALID / SAME / CIRCULAR padding, avg_pool, residual scale, layer norm and dense on pixels, deep stacks
and the standard parameterization; float64, 1e-8 relative."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import DATA

import ntksym

CASES = json.loads((DATA / "nt_reference_extra.json").read_text())["cases"]
# One case per feature runs by default (JIT compilation dominates: about 1 s per case and kernel);
# `make test-slow` runs the rest.
DEFAULT = {
    "conv1d-relu-same-flatten",
    "conv1d-erf-valid-stride-gap",
    "conv1d-relu-circular-avgpool-gap",
    "conv1d-relu-repeat-stride",
    "res-mlp-erf-scale",
    "std-conv1d-erf-gap",
}


def _param(case):
    marks = () if case["id"] in DEFAULT else (pytest.mark.slow,)
    return pytest.param(case, id=case["id"], marks=marks)


def _spec(case) -> ntksym.Spec:
    doc = {
        "ntksym": 1,
        "name": case["id"],
        "parameterization": case["parameterization"],
        "input_shape": case["input_shape"],
        "layers": case["layers"],
    }
    return ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_kernel_matches_neural_tangents(case):
    model = ntksym.compile(_spec(case), dtype="float64")
    x1, x2 = np.asarray(case["x1"]), np.asarray(case["x2"])
    both = model.kernel(np.concatenate([x1, x2]))  # one program: K(x1, x1) and K(x1, x2) are its blocks
    n = len(x1)
    k11 = type(both)(both.nngp[:n, :n], both.ntk[:n, :n])
    k12 = type(both)(both.nngp[:n, n:], both.ntk[:n, n:])
    for got, key in ((k12.nngp, "nngp_12"), (k12.ntk, "ntk_12"), (k11.nngp, "nngp_11"), (k11.ntk, "ntk_11")):
        want = np.asarray(case[key])
        assert got.shape == want.shape
        assert np.abs(got - want).max() / np.abs(want).max() <= 1e-8, key


def test_extra_cases_cover_the_spatial_layers():
    text = json.dumps([c["layers"] for c in CASES])
    for needle in (
        '"VALID"',
        '"CIRCULAR"',
        '"SAME"',
        '"avg_pool"',
        '"global_avg_pool"',
        '"flatten"',
        '"layer_norm"',
        '"scale": 0.5',
        '"stride": [2]',
        '"stride": [2, 2]',
    ):
        assert needle in text, needle
    assert {len(c["input_shape"]) for c in CASES} == {1, 2, 3}
    assert "standard" in {c["parameterization"] for c in CASES}
