"""Every example spec in specs/ loads, derives, compiles and gives the kernels of an independent recursion,
so no example can rot. The reference (tests/reference_kernels.py) is plain numpy on the spec's YAML and is
itself checked against the neural-tangents cases of tests/data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from reference_kernels import kernels

import ntksym

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
DEPTH_TANH = {"tanh_depth", "tanh_layernorm_depth", "tanh_resnet_depth"}  # docs/depth.md's tanh blocks
QUADRATURE = {"tanh_edge_of_chaos"} | DEPTH_TANH  # no closed form: ntksym's quadrature against a trapezoid rule
# 10-20 s each on 2 cores, run with `make test-slow`; by default tanh and CNN-GAP kernels are checked against
# neural-tangents (test_reference.py: fc-tanh-9, cnn-relu-global_avg_pool)
SLOW = {"tanh_edge_of_chaos", "cnn_global_pool"} | DEPTH_TANH
# the trapezoid reference of a 20-layer tanh CNN takes more than 14 GB: its depth analysis is checked against the
# generated kernel (test_depth_blocks.py, an erf CNN), conv kernels against neural-tangents (test_reference.py)
UNCHECKED = {"tanh_conv_depth"}


def test_there_are_example_specs():
    assert len(SPECS) >= 3


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=(pytest.mark.slow,) if p.stem in SLOW else ())
                                  for p in SPECS if p.stem not in UNCHECKED])
def test_example_spec_matches_an_independent_recursion(path):
    spec = ntksym.load_spec(path)
    assert spec.description, "every example documents itself with a description"
    assert spec.name in ntksym.derive(spec).text()
    shape = spec.input_shape or (4,)
    x = np.random.default_rng(0).normal(size=(4, *shape))
    x[3] = 2 * x[0]  # an exactly parallel pair: correlation 1 off the diagonal
    k = ntksym.compile(spec, dtype="float64").kernel(x)  # one symmetric call: one compile per spec
    want_nngp, want_ntk = kernels(path.read_text(), x)
    tol = 1e-6 if path.stem in QUADRATURE else 1e-9
    for got, want, name in ((k.nngp, want_nngp, "nngp"), (k.ntk, want_ntk, "ntk")):
        assert got.shape == (4, 4)
        assert np.abs(got - want).max() <= tol * np.abs(want).max(), (name, got, want)
        assert np.linalg.eigvalsh((got + got.T) / 2).min() >= -1e-9 * np.abs(got).max()


def _reference_cases():
    """The neural-tangents kernel cases built only of what the reference implements."""
    cases = []
    for name in ("nt_reference_public.json", "nt_reference_extra.json"):
        cases += [c for c in json.loads((DATA / name).read_text())["cases"] if "x1" in c]

    def supported(case):
        layers = json.dumps(case["layers"])
        standard_conv = case["parameterization"] == "standard" and '"conv"' in layers
        return not standard_conv and '"gelu"' not in layers

    return [pytest.param(c, id=c["id"]) for c in cases if supported(c)]


@pytest.mark.parametrize("case", _reference_cases())
def test_the_independent_recursion_matches_neural_tangents(case):
    """The numpy reference itself, against neural-tangents (flatten cases: neural-tangents' own 3e-9)."""
    doc = {"parameterization": case["parameterization"], "layers": case["layers"]}
    x1, x2 = np.asarray(case["x1"]), np.asarray(case["x2"])
    nngp, ntk = kernels(doc, x1, x2)
    for got, key in ((nngp, "nngp_12"), (ntk, "ntk_12")):
        want = np.asarray(case[key])
        assert np.abs(got - want).max() <= 1e-8 * np.abs(want).max(), key
