"""Fuzzing the whitelist parser: whatever the text, it returns a SymPy expression or raises SpecError.

Two generators: arbitrary Unicode text, and text built from a grammar that mixes the allowed constructs
with hostile ones (dunder names, attribute access, lambdas, huge powers, deep nesting, ...). The default
suite runs a few hundred examples; `make test-slow` runs more than 10,000.
"""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntksym.errors import SpecError
from ntksym.spec.expressions import parse_activation

HYPER = {"a": 0.5, "n": 3.0}
NAMES = ["x", "x", "a", "n", "pi", "y", "__import__", "os", "__class__", "eval", "True", "None", "_x", "E"]
FUNCS = [
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "erfc",
    "abs",
    "sign",
    "Heaviside",
    "Max",
    "Min",
    "Piecewise",
    "eval",
    "open",
    "getattr",
    "__import__",
    "sympify",
    "print",
]
BINARY = [
    "+",
    "-",
    "*",
    "/",
    "**",
    "//",
    "%",
    "@",
    "^",
    "&",
    "|",
    "<<",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    " and ",
    " or ",
]

numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from(["1e308", "1e999", "0.0", "10**10**10", "9" * 80, "0x1F", "1j", "1_000"]),
)
leaves = st.one_of(numbers, st.sampled_from(NAMES), st.sampled_from(["'s'", "b'x'", "...", "[]", "{}"]))


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "not ", "~"]), children).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(children, children).map(lambda t: f"Piecewise(({t[0]}, {t[1]}), ({t[0]}, True))"),
        st.tuples(children, st.sampled_from(["__class__", "real", "__dict__"])).map(
            lambda t: f"{t[0]}.{t[1]}"
        ),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        children.map(lambda c: f"(lambda q: {c})"),
        children.map(lambda c: f"[{c} for x in (1,)]"),
        children.map(lambda c: f"exp(x, base={c})"),
    )


grammar = st.recursive(leaves, _extend, max_leaves=25)
anything = st.one_of(
    grammar, st.text(max_size=200), st.text(alphabet="x()*+-/.0123456789e,<>=Piecewise True", max_size=120)
)


def _check(text: str) -> None:
    try:
        result = parse_activation(text, HYPER)
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(result, sp.Expr)
    assert result.free_symbols <= {
        sp.Symbol("x", real=True),
        sp.Symbol("a", real=True),
        sp.Symbol("n", real=True),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(anything)
def test_parser_returns_an_expression_or_a_spec_error(text):
    _check(text)


@pytest.mark.slow
@settings(max_examples=10_500, deadline=None, suppress_health_check=list(HealthCheck))
@given(anything)
def test_parser_returns_an_expression_or_a_spec_error_10k(text):
    _check(text)
