"""Every example spec in specs/ loads, derives, compiles and evaluates, so no example can rot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ntksym

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))


def test_there_are_example_specs():
    assert len(SPECS) >= 3


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_spec_loads_derives_and_evaluates(path):
    spec = ntksym.load_spec(path)
    assert spec.description, "every example documents itself with a description"
    derivation = ntksym.derive(spec)
    assert spec.name in derivation.text()
    shape = spec.input_shape or (4,)
    x = np.random.default_rng(0).normal(size=(3, *shape))
    k = ntksym.compile(spec, dtype="float64").kernel(x)
    assert k.nngp.shape == k.ntk.shape == (3, 3)
    assert np.all(np.isfinite(k.ntk)) and np.all(np.linalg.eigvalsh(k.ntk) > -1e-9 * np.abs(k.ntk).max())
