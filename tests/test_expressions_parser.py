"""The whitelist expression parser: what it builds, and the one-line errors for what it refuses."""

from __future__ import annotations

import pytest
import sympy as sp

from ntksym.errors import SpecError
from ntksym.spec.expressions import MAX_CHARS, parse_activation
from ntksym.symbolic.state import symbol_for, x

HYPER = {"a": 0.5, "n": 3.0, "slope": 0.2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x**3 - 0.5*x", x**3 - x / 2),
        ("sin(x) + 0.5*cos(2*x)", sp.sin(x) + sp.cos(2 * x) / 2),
        ("Piecewise((x, x > 0), (0.2*x, True))", sp.Piecewise((x, x > 0), (x / 5, True))),
        ("exp(-x**2) + x", sp.exp(-(x**2)) + x),
        ("x*erf(x)", x * sp.erf(x)),
        ("Max(x, 0) + Min(x, 0)/10", sp.Max(x, 0) + sp.Min(x, 0) / 10),
        ("abs(x) + sign(x) + Heaviside(x) + erfc(x)", sp.Abs(x) + sp.sign(x) + sp.Heaviside(x) + sp.erfc(x)),
        ("sqrt(2)*log(1 + exp(x)) + pi", sp.sqrt(2) * sp.log(1 + sp.exp(x)) + sp.pi),
        ("-x / 4", -x / 4),
        ("a*x**n", symbol_for("a") * x**3),
        (
            "Piecewise((x, (x > 0) & (x < 1)), (1, x >= 1), (0, True))",
            sp.Piecewise((x, sp.And(x > 0, x < 1)), (1, x >= 1), (0, True)),
        ),
        (
            "Piecewise((x, 0 < x <= slope or x > 2), (0, True))",
            sp.Piecewise((x, sp.Or(sp.And(x > 0, x <= symbol_for("slope")), x > 2)), (0, True)),
        ),
        ("1.5e-3*x", sp.Float(1.5e-3) * x),
    ],
)
def test_builds_the_sympy_expression(text, expected):
    assert sp.simplify(parse_activation(text, HYPER) - expected) == 0


def test_short_decimals_are_exact_rationals():
    assert parse_activation("0.2*x", {}) == sp.Rational(1, 5) * x


def test_sigmoid_is_written_without_overflow():
    phi = parse_activation("sigmoid(x)", {})
    assert not phi.has(sp.exp)
    assert abs(float(phi.subs(x, 0.3)) - 1 / (1 + 2.718281828459045**-0.3)) < 1e-15


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('touch /tmp/pwned')", "calling anything but a named function"),
        ("x.__class__", "attribute access (`x.__class__`)"),
        ("(lambda: 1)()", "calling anything but a named function"),
        ("lambda y: y", "lambdas"),
        ("x**10**10**10", "an exponent beyond +-64"),
        ("x +", "syntax error"),
        ("foo(x)", "unknown function `foo`"),
        ("y", "unknown name `y`"),
        ("sine(x)", "Did you mean `sin`?"),
        ("__builtins__", "a name starting with `_`"),
        ("x[0]", "subscripts"),
        ("[t for t in (1, 2)]", "comprehensions"),
        ("'text'", "a string"),
        ("f'{x}'", "strings"),
        ("exp(x, y=1)", "keyword arguments to `exp`"),
        ("exp(*x)", "starred arguments"),
        ("x ^ 2", "use `**` for powers"),
        ("x // 2", "the operator `//`"),
        ("2**x", "an exponent that is not a constant number"),
        ("x**0.3", "a power of x other than a whole or half-whole number"),
        ("1/0", "a division by zero"),
        ("sqrt(-1)", "`sqrt` of -1"),
        ("x > 0", "a condition outside Piecewise"),
        ("Piecewise((x, x > 0))", "the last branch of Piecewise must be `(expr, True)`"),
        ("Piecewise(x)", "must be a pair"),
        ("Piecewise((x, x == 0), (1, True))", "the comparison `==`"),
        ("exp", "`exp` is a function; call it"),
        ("exp(x, x)", "`exp` takes one argument"),
        ("Max(x)", "takes two or more arguments"),
        ("1e999", "an infinite number"),
        ("10**64**64", "an exponent beyond"),
        ("9" * 400, "a number this large"),
        ("(x**8)**9", "a power beyond +-64"),
        ("x if x > 0 else 0", "use Piecewise"),
        ("-" * 60 + "x", "nested"),
        ("(" * 300 + "x" + ")" * 300, "nested"),
        ("x\x00", "null bytes"),
        ("", "empty expression"),
        ("x" * (MAX_CHARS + 1), "longer than 4096"),
    ],
)
def test_refuses_with_one_line_naming_the_part(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_activation(text, HYPER)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_hyperparameter_exponent_must_be_a_bounded_number():
    with pytest.raises(SpecError, match="beyond"):
        parse_activation("x**n", {"n": 100.0})
    assert parse_activation("x**n", {"n": 2.0}) == x**2


def test_spec_loader_reports_file_line_and_key_path(tmp_path):
    import ntksym

    path = tmp_path / "bad.yaml"
    path.write_text(
        'ntksym: 1\nname: bad\nlayers:\n  - dense: {w_std: 1.0}\n  - activation: {expr: "x.__class__"}\n'
    )
    with pytest.raises(SpecError) as info:
        ntksym.load_spec(path)
    assert str(info.value).startswith(f"{path}:5: layers[1].activation.expr: not allowed in an expression")
