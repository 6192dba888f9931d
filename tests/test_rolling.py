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


def _varying(count: int, activation: str = "relu") -> str:
    return "".join(f"  - dense: {{w_std: {1.2 + i / 100}, b_std: {0.05 + i / 1000}}}\n  - activation: {activation}\n"
                   for i in range(count))


def test_layers_that_differ_in_their_numbers_compile_as_one_loop_with_the_written_out_kernel():
    import yaml
    from reference_kernels import kernels

    text = spec_text(_varying(30) + "  - activation: erf\n" + _varying(3, "erf") + READOUT, name="varying",
                     extra="input_shape: [5]\n")
    spec = ntksym.parse_spec(text)
    assert len(spec.layers) == 68  # nothing identical to roll when the spec loads
    model = ntksym.compile(spec, dtype="float64")
    source = open(model.module.__file__).read()
    assert source.count("lax.fori_loop(0, 30, ") == 1 and source.count("lax.fori_loop(0, 3, ") == 1
    assert source.count("differ only in their numbers") == 2 and "def _cross_60(" not in source
    k = model.kernel(X)
    nngp, ntk = kernels(yaml.safe_load(text), X)  # the independent recursion, layer by layer
    np.testing.assert_allclose(k.nngp, nngp, rtol=1e-10)
    np.testing.assert_allclose(k.ntk, ntk, rtol=1e-10)


def test_two_hundred_different_pairs_are_one_loop():
    model = ntksym.compile(_spec(_varying(200)), dtype="float64")  # 5.9 s for `ntksym kernel`; unrolled: minutes
    source = open(model.module.__file__).read()
    # w_std = 2 and 3 give exact integers w^2, which are not floating-point constants: the run breaks there
    assert source.count("lax.fori_loop(") == 3 and source.count("def _cross_") < 16
    k = model.kernel(X)
    assert np.isfinite(k.ntk).all() and np.all(np.linalg.eigvalsh(k.ntk) > 0)
