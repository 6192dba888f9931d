"""Hardening, second pass (issue 18): names that reach generated code, numbers beyond the dtype, nesting.

The one-line CLI messages of these cases are rows of tests/test_bad_inputs.py; this file checks the rules
behind them."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.codegen import load as cache
from ntksym.codegen.emit import emit_module
from ntksym.codegen.printer import print_expression
from ntksym.errors import CodegenError, InputError, SpecError

SPECS = Path(__file__).parent.parent / "specs"
MLP = "ntksym: 1\nname: t\n{extra}layers:\n  - dense: {{w_std: {w}, b_std: {b}}}\n  - activation: relu\n  - dense: {{}}\n"


def _spec(w="1.0", b="0.0", extra="") -> ntksym.Spec:
    return ntksym.parse_spec(MLP.format(w=w, b=b, extra=extra))


# -- 1. names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lambda", "import", "class", "def", "for", "nonlocal", "async", "match", "case",
                                  "print", "len", "range", "float", "int", "jnp", "jsp", "lax", "hp", "g12", "s",
                                  "sqrt", "Piecewise", "kernel_with_diagonals", "ARCHITECTURE"])
def test_hyperparameter_names_that_would_break_or_shadow_generated_code_are_refused(name):
    with pytest.raises(SpecError, match=rf"hyperparameters\.{name}: `{name}` is a reserved name \(.*\); rename it"):
        _spec(w=name, extra=f"hyperparameters: {{{name}: 1.2}}\n")


def _generated_identifiers(text: str) -> set[str]:
    """Names a hyperparameter could collide with: module-level names, and every name used in the functions
    a hyperparameter becomes a local of (`_cross_k`, `_diag_k`, `_affine_k`) or a keyword argument of."""
    tree = ast.parse(text)
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.FunctionDef) and re.fullmatch(r"_(cross|diag|affine)_\d+|kernel(_with_diagonals)?", node.name):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
                elif isinstance(sub, ast.arg):
                    names.add(sub.arg)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("spec_file", ["relu_mlp.yaml", "cnn_global_pool.yaml", "expr_cubic_mlp.yaml", "resnet_mlp.yaml"])
def test_every_name_of_generated_code_is_reserved(spec_file):
    """RESERVED_NAMES must keep up with the generator: a new helper argument or global is caught here."""
    from ntksym.spec.load import reserved_reason

    spec = ntksym.load_spec(SPECS / spec_file)
    hyper = {name for name, _ in spec.hyperparameters}
    free = sorted(n for n in _generated_identifiers(emit_module(ntksym.derive(spec), "float32")) - hyper
                  if not reserved_reason(n))
    assert free == [], f"add these to RESERVED_NAMES in ntksym/spec/fields.py: {free}"


def test_a_module_that_does_not_parse_is_never_written_to_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NTKSYM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(importlib.import_module("ntksym.compile"), "emit_module", lambda derivation, dtype: "def broken(:\n")
    spec = _spec(w="1.25")
    with pytest.raises(CodegenError, match="does not parse .*nothing was written"):
        ntksym.compile(spec)
    assert list(tmp_path.iterdir()) == []


def test_compile_o_parses_the_module_before_writing_it(monkeypatch, tmp_path):
    monkeypatch.setattr("ntksym.cli.compile.emit_module", lambda derivation, dtype: "x = (\n")
    (tmp_path / "s.yaml").write_text(MLP.format(w="1.0", b="0.0", extra=""))
    result = CliRunner().invoke(app, ["compile", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "m.py")])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert "does not parse" in result.stderr and "internal error" not in result.stderr
    assert not (tmp_path / "m.py").exists()


def test_parse_checked_accepts_every_generated_module_it_is_given():
    text = emit_module(ntksym.derive(ntksym.load_spec(SPECS / "relu_mlp.yaml")), "float64")
    assert cache.parse_checked(text) is text


# -- 2. numbers ----------------------------------------------------------------------------------------
def test_integer_constants_beyond_int64_print_as_floats_and_overflow_as_jnp_inf():
    q = sp.Symbol("q")
    assert print_expression(sp.Integer(10**30) * q) == "1e+30*q"
    assert print_expression(sp.Integer(10**400) * q) == "jnp.inf*q"
    assert "jnp.inf" in print_expression(sp.Rational(10**400, 3) * q)
    assert print_expression(sp.Rational(-7, 3)) == "-7/3" and print_expression(sp.Integer(5) * q) == "5*q"
    for expr in (sp.Integer(10**400) * q, sp.Float(0.3) * sp.Integer(10) ** 400 * q, -sp.Integer(10) ** 400 * q):
        ast.parse(print_expression(expr))


@pytest.mark.parametrize("w, b, extra, key", [
    ("1e308", "0.0", "", "layers[0].dense.w_std"),
    ("1.0", "1e200", "", "layers[0].dense.b_std"),
    ("w", "0.0", "hyperparameters: {w: 1e308}\n", "hyperparameters.w"),
    ("1e-50", "0.0", "", "layers[0].dense.w_std"),
])
def test_numbers_beyond_float32_are_refused_naming_the_key(w, b, extra, key):
    with pytest.raises(SpecError, match=re.escape(key) + r": .*(beyond float32's range|rounds to 0 in float32)"):
        ntksym.compile(_spec(w, b, extra), dtype="float32")


def test_float64_takes_what_float64_holds():
    x = np.ones((2, 3))
    k = ntksym.compile(_spec("1e100"), dtype="float64").kernel(x)
    assert np.isfinite(k.ntk).all() and k.nngp[0, 0] == pytest.approx(0.5e200)
    k = ntksym.compile(_spec("w", extra="hyperparameters: {w: 1e100}\n"), dtype="float64").kernel(x)
    assert k.nngp[0, 0] == pytest.approx(0.5e200)
    assert np.isfinite(ntksym.compile(_spec("1e-320"), dtype="float64").kernel(x).ntk).all()


@pytest.mark.parametrize("w, b, dtype", [("1.0", "1e200", "float64"), ("1e30", "0.0", "float32")])
def test_a_kernel_that_overflows_is_a_numerical_error_not_an_internal_one(w, b, dtype):
    with pytest.raises(ntksym.NumericalError, match="overflowed"):
        ntksym.compile(_spec(w, b), dtype=dtype).kernel(np.ones((2, 3)))


def test_the_kernel_cli_on_huge_numbers_gives_one_line_and_writes_nothing(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 4)))
    for i, (w, b, x64, code) in enumerate([("1e308", "0.0", False, 2), ("1.0", "1e200", False, 2),
                                           ("1.0", "1e200", True, 1), ("1e100", "0.0", True, 0)]):
        (tmp_path / f"s{i}.yaml").write_text(MLP.format(w=w, b=b, extra=""))
        out = tmp_path / f"k{i}.npz"
        args = ["kernel", str(tmp_path / f"s{i}.yaml"), "--x1", str(tmp_path / "x.npy"), "-o", str(out)]
        result = CliRunner().invoke(app, args + (["--x64"] if x64 else []))
        assert result.exit_code == code, result.output
        assert "internal error" not in result.output and "Warning" not in result.stderr
        assert out.exists() == (code == 0)
        assert result.stderr.count("\n") == (code != 0)


def test_hyperparameter_overrides_are_checked_before_the_jitted_call():
    model = ntksym.compile(_spec("w", extra="hyperparameters: {w: 1.2, n: 3}\n"), dtype="float32")
    x = np.ones((2, 3))
    for bad, message in [({"w": 1e308}, "beyond float32's range"), ({"w": "a"}, "must be a real number"),
                         ({"w": float("nan")}, "must be a finite number"), ({"w": [1.0, 2.0]}, "must be a real number"),
                         ({"w": 1j}, "must be a real number"), ({"v": 1.0}, "unknown hyperparameters")]:
        with pytest.raises(InputError, match=message):
            model.kernel(x, **bad)
    assert np.isfinite(model.kernel(x, w=1.5).ntk).all()


def test_a_repeat_count_override_must_be_a_count():
    spec = ntksym.parse_spec("ntksym: 1\nname: c\nhyperparameters: {n: 3}\nlayers:\n  - repeat: n\n"
                             "    layers: [{dense: {}}, {activation: relu}]\n")
    model = ntksym.compile(spec, dtype="float64")
    for bad in (0, 2.5, 10**9):
        with pytest.raises(InputError, match="is a repeat count"):
            model.kernel(np.ones((2, 3)), n=bad)


# -- 3. data -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 0)), "holds no features"),
    (np.array([[1, 2**70]], dtype=object), "expected numbers"),
    (np.full((2, 3), np.longdouble("1e400")) if np.finfo(np.longdouble).max > 1e400 else np.full((2, 3), np.inf),
     "beyond float64's range|NaN or infinite"),
])
def test_check_inputs_refuses_empty_features_objects_and_out_of_range(array, message):
    from ntksym.runtime.data import check_inputs

    with pytest.raises(InputError, match=message):
        check_inputs(array, _spec(), "x")


def test_data_beyond_float32_is_bad_input_but_float64_takes_it():
    model32 = ntksym.compile(_spec(), dtype="float32")
    with pytest.raises(InputError, match="x1: holds values up to 1e\\+39, beyond float32's range"):
        model32.kernel(np.full((2, 3), 1e39))
    assert np.isfinite(ntksym.compile(_spec(), dtype="float64").kernel(np.full((2, 3), 1e39)).nngp).all()
    with pytest.raises(InputError, match="mean square of an example overflows float64"):
        ntksym.compile(_spec(), dtype="float64").kernel(np.full((2, 3), 1e300))


# -- 4. nesting ----------------------------------------------------------------------------------------
def _nested(kind: str, levels: int, count: int = 2, block: str = "{dense: {}}, {activation: relu}") -> str:
    body = block
    for _ in range(levels):
        body = f"{{repeat: {count}, layers: [{body}]}}" if kind == "repeat" else f"{{residual: {{layers: [{body}]}}}}"
    return f"ntksym: 1\nname: n\nlayers: [{body}, {{dense: {{}}}}]\n"


def test_nested_repeats_of_one_block_fold_into_one_repeat():
    folded = ntksym.parse_spec(_nested("repeat", 3, count=3))
    (outer, _) = folded.layers
    assert outer.count == 27 and outer.path == "layers[0].repeat"
    assert [layer.path for layer in outer.layers] == ["layers[0].repeat.layers[0].repeat.layers[0].repeat.layers[0].dense",
                                                      "layers[0].repeat.layers[0].repeat.layers[0].repeat.layers[1].activation"]
    flat = ntksym.parse_spec("ntksym: 1\nname: n\nlayers: [{repeat: 27, layers: [{dense: {}}, {activation: relu}]}, "
                             "{dense: {}}]\n")
    assert folded.layers == flat.layers
    assert "layers[0].repeat: repeat 27 times" in ntksym.derive(folded).text()
    x = np.random.default_rng(0).normal(size=(3, 4))
    a = ntksym.compile(folded, dtype="float64").kernel(x)
    b = ntksym.compile(flat, dtype="float64").kernel(x)
    np.testing.assert_allclose(a.ntk, b.ntk, rtol=1e-12)


def test_a_repeat_with_more_than_one_layer_is_not_folded():
    spec = ntksym.parse_spec("ntksym: 1\nname: n\nlayers:\n  - repeat: 2\n    layers:\n      - repeat: 3\n"
                             "        layers: [{dense: {}}, {activation: relu}]\n      - dense: {}\n")
    assert spec.layers[0].count == 2 and spec.layers[0].layers[0].count == 3


@pytest.mark.parametrize("kind", ["repeat", "residual"])
def test_32_levels_of_blocks_load_and_derive(kind):
    spec = ntksym.parse_spec(_nested(kind, 32, count=1))
    ntksym.derive(spec).text()


@pytest.mark.parametrize("text, message", [
    (_nested("residual", 33), r"layers\[0\]\.residual: repeat / residual blocks are nested more than 32 levels"),
    (_nested("repeat", 33, count=1, block="{dense: {}}, {activation: relu}, {dense: {}}"), "nested more than 32 levels"),
    (_nested("repeat", 300), "the YAML is nested more than 200 levels deep"),
    (_nested("residual", 200), "the YAML is nested more than 200 levels deep"),
    ("ntksym: 1\nname: d\nlayers: [{dense: {}}]\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", "more than 200 levels"),
    ("ntksym: 1\nname: d\nlayers: [{dense: {}}]\ndescription: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "200 levels"),
    (_nested("repeat", 30), r"layers\[0\]\.repeat: nested repeats run their innermost block 1,073,741,824 times"),
    ("ntksym: 1\nname: n\nhyperparameters: {k: 1000}\nlayers:\n  - repeat: k\n    layers:\n      - repeat: 1001\n"
     "        layers: [{dense: {}}]\n", "1,001,000 times"),
])
def test_too_deep_specs_are_refused_before_anything_recurses(text, message):
    with pytest.raises(SpecError, match=message):
        ntksym.parse_spec(text)


def test_aliases_cannot_stack_anchors_deeper_than_the_limit():
    lines = ["ntksym: 1", "name: a", "layers: [{dense: {}}]", "a0: &a0 1"]
    lines += [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 260)]
    with pytest.raises(SpecError, match="more than 200 levels"):
        ntksym.parse_spec("\n".join(lines) + "\n")
