"""Identical consecutive layers written out are rolled into one repeat loop (ntksym/spec/rolling.py)."""

from __future__ import annotations

import numpy as np
from conftest import spec_text

import ntksym
from ntksym.spec import schema as s

PAIR = "  - dense: {w_std: 1.4, b_std: 0.1}\n  - activation: relu\n"
READOUT = "  - dense: {w_std: 1.0, width: 1}\n"
X = np.random.default_rng(0).standard_normal((4, 5))


def _spec(body: str) -> ntksym.Spec:
    return ntksym.parse_spec(spec_text(body + READOUT, name="rolled", extra="input_shape: [5]\n"))


def test_written_out_pairs_are_one_rolled_repeat_with_the_kernel_of_repeat():
    written = _spec(PAIR * 50)
    (repeat, readout) = written.layers
    assert isinstance(repeat, s.Repeat) and repeat.count == 50 and repeat.rolled and len(repeat.layers) == 2
    assert repeat.path == "layers[0].repeat" and readout.path == "layers[100].dense"
    looped = _spec("  - repeat: 50\n    layers:\n      - dense: {w_std: 1.4, b_std: 0.1}\n      - activation: relu\n")
    assert not looped.layers[0].rolled
    a = ntksym.compile(written, dtype="float64").kernel(X)
    b = ntksym.compile(looped, dtype="float64").kernel(X)
    np.testing.assert_array_equal(a.ntk, b.ntk)
    assert "rolled from identical consecutive blocks" in ntksym.derive(written).text()


def test_short_runs_and_different_layers_stay_as_written():
    assert len(_spec(PAIR * 2).layers) == 5  # two copies: below the three needed
    different = "".join(f"  - dense: {{w_std: {1 + i / 10}}}\n  - activation: relu\n" for i in range(4))
    assert len(_spec(different).layers) == 9


def test_longer_blocks_runs_after_a_prefix_and_inside_combinators_roll():
    block = "  - dense: {w_std: 1.2}\n  - activation: erf\n  - layer_norm\n"
    spec = _spec("  - dense: {w_std: 2.0}\n" + block * 4 + "  - residual:\n      layers:\n" + ("        - activation: relu\n" * 3))
    first, rolled, residual, _ = spec.layers
    assert isinstance(first, s.Dense) and rolled.count == 4 and len(rolled.layers) == 3
    inner = residual.layers
    assert len(inner) == 1 and inner[0].count == 3 and inner[0].rolled


def test_a_thousand_written_out_pairs_compile_as_one_loop():
    spec = _spec(PAIR * 1000)
    k = ntksym.compile(spec, dtype="float64").kernel(X)
    assert np.isfinite(k.ntk).all() and len(spec.layers) == 2
