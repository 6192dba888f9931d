"""Specs whose spatial layers do not fit: one clear `DerivationError` each, saying how to fix it."""

from __future__ import annotations

import pytest
from conftest import spec_text

import ntksym

GAP = "  - global_avg_pool\n  - dense: {w_std: 1.0}\n"
CONV = "  - conv: {filter: [3]}\n"


def _derive(layers: str, shape: str | None = "[8, 2]", extra: str = ""):
    head = (f"input_shape: {shape}\n" if shape else "") + extra
    return ntksym.derive(ntksym.parse_spec(spec_text(layers, extra=head)))


@pytest.mark.parametrize(
    "layers, shape, message",
    [
        (CONV + GAP, None, "give `input_shape: [width, channels]`"),
        (CONV + GAP, "[8]", "input_shape [8]"),
        (CONV + GAP, "[8, 8, 2]", "write `filter: [3, 3]`"),
        ("  - conv: {filter: [9], padding: VALID}\n" + GAP, "[8, 2]", "is larger than the 8 image"),
        ("  - flatten\n" + CONV + GAP, "[8, 2]", "has already made it fully connected"),
        (CONV + "  - dense: {w_std: 1.0}\n", "[8, 2]", "add `global_avg_pool` or `flatten`"),
        (
            "  - residual:\n      layers:\n        - conv: {filter: [3], stride: [2]}\n" + GAP,
            "[8, 2]",
            "the residual block changes the state from 8 pixels to 4 pixels",
        ),
        (
            "  - avg_pool: {window: [2, 2]}\n" + GAP,
            "[8, 2]",
            "window [2, 2] has 2 entries but the state has 1",
        ),
    ],
)
def test_misfit_spatial_layer_is_refused_with_a_fix(layers, shape, message):
    with pytest.raises((ntksym.DerivationError, ntksym.SpecError)) as info:  # input_shape is checked at load
        _derive(layers, shape)
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_hyperparameter_repeat_count_cannot_change_the_shape():
    layers = "  - repeat: depth\n    layers:\n      - conv: {filter: [3], stride: [2]}\n" + GAP
    with pytest.raises(
        ntksym.DerivationError, match="must be a whole number, not the hyperparameter `depth`"
    ):
        _derive(layers, extra="hyperparameters:\n  depth: 2\n")


def test_standard_parameterization_needs_the_channels_of_hidden_convs():
    layers = CONV + "  - activation: relu\n" + CONV + GAP
    with pytest.raises(ntksym.DerivationError, match="give every hidden dense layer a width and every conv"):
        _derive(layers, extra="parameterization: standard\n")
    _derive(layers.replace("filter: [3]}", "filter: [3], channels: 4}"), extra="parameterization: standard\n")


def test_derivation_reports_show_each_spatial_recursion():
    layers = (
        "  - conv: {filter: [3], stride: [2], padding: CIRCULAR, w_std: 1.5}\n  - activation: relu\n"
        "  - avg_pool: {window: [2]}\n  - flatten\n  - dense: {w_std: 1.0}\n"
    )
    d = _derive(layers)
    text = d.text()
    assert (
        "A[K](p, p') = 1/3 sum_(d in 3) K(s p + d, s p' + d), s = [2], indices wrap around (CIRCULAR)" in text
    )
    assert "q12' = 2.25*A[q12]" in text and "t12' = 2.25*A[q12] + 2.25*A[t12]" in text
    assert "q12'(p, p') = 1/4 sum_(d, d' in 2) q12(s p + d, s p' + d')" in text
    assert "q12' = 1/P sum_p q12(p, p)" in text
    assert r"\frac{1}{P} \sum_{p} q_{12}(p, p)" in d.latex()
    kinds = [step["kind"] for step in d.to_dict()["steps"]]
    assert kinds == ["conv", "activation", "avg_pool", "flatten", "dense"]
    assert d.to_dict()["steps"][0]["padding"] == "CIRCULAR"
