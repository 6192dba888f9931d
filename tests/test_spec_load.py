"""Loading and validating specs: the format of SPEC_FORMAT.md, and errors that say where and how to fix."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

import ntksym
from ntksym.spec import schema as s

SPEC_FORMAT = Path(__file__).parent.parent.parent / "shared" / "SPEC_FORMAT.md"
EXAMPLE = """\
ntksym: 1
name: relu-mlp
description: Five-layer ReLU MLP at the edge of chaos
parameterization: ntk
input_shape: [8]
hyperparameters:
  sigma_w: 1.4142135623730951
  sigma_b: 0.0
layers:
  - repeat: 5
    layers:
      - dense: {width: 512, w_std: sigma_w, b_std: sigma_b}
      - activation: relu
  - dense: {width: 1, w_std: 1.0, b_std: 0.0}
"""


def _error(text: str) -> str:
    with pytest.raises(ntksym.SpecError) as info:
        ntksym.parse_spec(text, source="net.yaml")
    return str(info.value)


def test_the_format_example_loads_into_an_immutable_spec():
    spec = ntksym.parse_spec(EXAMPLE)
    assert spec.name == "relu-mlp" and spec.input_shape == (8,)
    repeat = spec.layers[0]
    assert isinstance(repeat, s.Repeat) and repeat.count == 5
    assert repeat.layers[0] == s.Dense(s.Ref("sigma_w"), s.Ref("sigma_b"), 512)
    assert repeat.layers[1] == s.Activation("relu")
    with pytest.raises(FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


@pytest.mark.skipif(not SPEC_FORMAT.exists(), reason="../shared not beside the checkout")
def test_every_yaml_example_in_spec_format_md_loads():
    blocks = re.findall(r"```yaml\n(.*?)```", SPEC_FORMAT.read_text(), re.S)
    assert blocks
    for block in blocks:
        assert ntksym.parse_spec(block).layers


def test_hash_ignores_comments_and_layout_but_not_values():
    a = ntksym.parse_spec(EXAMPLE)
    b = ntksym.parse_spec("# comment\n" + EXAMPLE.replace("{width: 1, w_std: 1.0, b_std: 0.0}", "{b_std: 0.0, width: 1, w_std: 1.0}"))
    c = ntksym.parse_spec(EXAMPLE.replace("sigma_b: 0.0", "sigma_b: 0.1"))
    assert a.sha256 == b.sha256 != c.sha256


def test_all_layer_kinds_and_activation_forms_parse():
    spec = ntksym.parse_spec("""
ntksym: 1
name: everything
input_shape: [8, 8, 3]
hyperparameters: {k: 3, depth: 2, alpha: 0.2}
layers:
  - conv: {filter: [3, 3], stride: 1, padding: circular, w_std: 1.5, b_std: null, channels: 16}
  - activation: {name: leaky_relu, alpha: alpha}
  - avg_pool: {window: [2, 2]}
  - repeat: depth
    layers:
      - conv: {filter: [k, k]}
      - activation: {name: polynomial, coef: [0, 1, alpha]}
  - residual: {scale: 0.5, layers: [{conv: {filter: 3}}, {activation: gelu}]}
  - layer_norm: {}
  - global_avg_pool: {}
  - flatten
  - dense: {width: 10}
  - activation: {name: hermite, degree: 3}
""".replace("filter: [k, k]", "filter: [3, 3]"))
    kinds = [type(layer).__name__ for layer in spec.layers]
    assert kinds == ["Conv", "Activation", "AvgPool", "Repeat", "Residual", "LayerNorm", "GlobalAvgPool", "Flatten", "Dense", "Activation"]
    assert spec.layers[0].padding == "CIRCULAR" and spec.layers[0].b_std is None and spec.layers[0].stride == (1, 1)
    assert spec.layers[2].stride == (2, 2)
    assert spec.layers[3].count == s.Ref("depth")
    assert spec.layers[1].param("alpha") == s.Ref("alpha")


def test_numbers_written_as_exponents_are_numbers():
    spec = ntksym.parse_spec(EXAMPLE.replace("b_std: 0.0}", "b_std: 1e-3}"))
    assert spec.layers[1].b_std == pytest.approx(1e-3)


@pytest.mark.parametrize("edit, expected", [
    (("activation: relu", "activation: rleu"), "net.yaml:13: layers[0].repeat.layers[1].activation.name: unknown activation `rleu`. Did you mean `relu`?"),
    (("- dense: {width: 1,", "- dens: {width: 1,"), "net.yaml:14: layers[1].dens: unknown layer `dens`. Did you mean `dense`?"),
    (("w_std: sigma_w", "w_std: sigma_ww"), "net.yaml:12: layers[0].repeat.layers[0].dense.w_std: unknown hyperparameter `sigma_ww`; define it under `hyperparameters:`. Did you mean `sigma_w`?"),
    (("width: 512", "width: -4"), "layers[0].repeat.layers[0].dense.width: expected a whole number >= 1, got -4"),
    (("repeat: 5", "repeat: 0"), "net.yaml:10: layers[0].repeat: expected a whole number >= 1, got 0"),
    (("w_std: 1.0", "w_std: .nan"), "layers[1].dense.w_std: expected a finite number"),
    (("w_std: 1.0", "w_std: [1]"), "layers[1].dense.w_std: expected a number or a hyperparameter name, got a list"),
    (("w_std: 1.0", "wstd: 1.0"), "net.yaml:14: layers[1].dense.wstd: unknown key `wstd`. Did you mean `w_std`?"),
    (("ntksym: 1", "ntksym: 2"), "net.yaml:1: ntksym: unsupported spec format version 2"),
    (("parameterization: ntk", "parameterization: ntk2"), "expected `ntk` or `standard`, got 'ntk2'. Did you mean `ntk`?"),
    (("sigma_b: 0.0", "sigma_b: abc"), "hyperparameter `sigma_b` must be a finite number"),
    (("name: relu-mlp", "name: relu mlp"), "`name` must be letters, digits"),
    (("input_shape: [8]", "input_shape: [0]"), "input_shape: expected a list of positive whole numbers"),
])
def test_invalid_specs_name_file_line_path_and_fix(edit, expected):
    assert expected in _error(EXAMPLE.replace(*edit))


def test_malformed_yaml_reports_line_and_column():
    message = _error("ntksym: 1\nname: x\nlayers:\n  - dense: {w_std: 1.0\n")
    assert message.startswith("net.yaml:5: malformed YAML, column 1:")


def test_duplicate_keys_are_refused():
    assert "duplicate key `w_std`" in _error("ntksym: 1\nname: x\nlayers:\n  - dense: {w_std: 1.0, w_std: 2.0}\n")


def test_missing_pieces():
    assert "missing `ntksym: 1`" in _error("name: x\nlayers: [{dense: {}}]\n")
    assert "missing `layers:`" in _error("ntksym: 1\nname: x\n")
    assert "the spec is empty" in _error("")
    assert "activation `abrelu` needs the parameter `a`" in _error("ntksym: 1\nname: x\nlayers: [{activation: {name: abrelu, b: 1}}]\n")
    assert "`repeat` needs a sibling `layers:`" in _error("ntksym: 1\nname: x\nlayers: [{repeat: 2}]\n")


def test_reserved_and_malformed_hyperparameter_names():
    assert "`kernel` is a reserved name" in _error("ntksym: 1\nname: x\nhyperparameters: {kernel: 1}\nlayers: [{dense: {}}]\n")
    assert "must start with a letter" in _error("ntksym: 1\nname: x\nhyperparameters: {_x: 1}\nlayers: [{dense: {}}]\n")


def test_a_layer_entry_with_two_kinds_is_refused():
    assert "exactly one key" in _error("ntksym: 1\nname: x\nlayers: [{dense: {}, flatten: {}}]\n")


def test_yaml_tags_that_would_build_objects_are_refused():
    assert "YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed" in _error("ntksym: 1\nname: !!python/object/apply:os.system ['true']\nlayers: [{dense: {}}]\n")


def test_alias_bombs_are_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefg", "bcdefgh"))
    assert "more than" in _error(bomb)


def test_load_spec_missing_file(tmp_path):
    with pytest.raises(ntksym.SpecError, match="spec file not found"):
        ntksym.load_spec(tmp_path / "nope.yaml")
