"""The whitelist parser of activation expressions, `{expr: "x**3 - 0.5*x"}`.

The text is parsed by Python's `ast` (mode "eval", which only builds a syntax tree) and every node is
checked against an allow-list before a SymPy object is built from it with SymPy's constructors
(`sp.Add`, `sp.Pow`, `sp.exp`, ...). Nothing is ever evaluated as code: `sympify`, `parse_expr`, `eval`
and `exec` are never called on the text. Anything outside the grammar is refused with a `SpecError`
whose one-line message names the offending part.

Grammar (docs/expressions.md): numbers, `x`, `pi`, the spec's hyperparameter names; `+ - * / **` and
unary minus; exp log sqrt sin cos tanh sigmoid erf erfc abs sign Heaviside (one argument), Max Min (two
or more); `Piecewise((expr, cond), ..., (expr, True))` with comparisons `< <= > >=` (chains allowed)
joined by `and`/`or`/`&`/`|`.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from collections.abc import Callable, Mapping
from fractions import Fraction

import sympy as sp

from ntksym.activations import sigmoid
from ntksym.errors import SpecError, did_you_mean
from ntksym.spec.symbols import symbol_for, x

MAX_CHARS = 4096
MAX_NODES = 1000
MAX_DEPTH = 40
MAX_EXPONENT = 64  # |exponent| of a power; also the largest power of x anywhere in the result
MAX_CONSTANT_BITS = 1024  # numeric constants beyond 2**1024 are refused before they are built

_CONDITIONS = (sp.logic.boolalg.BooleanAtom, sp.logic.boolalg.BooleanFunction, sp.core.relational.Relational)
_DECIMAL = re.compile(r"^\d{0,20}\.?\d{0,20}$")


UNARY: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
    "sigmoid": sigmoid,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "abs": sp.Abs,
    "sign": sp.sign,
    "Heaviside": sp.Heaviside,
}
VARIADIC: dict[str, Callable[..., sp.Expr]] = {"Max": sp.Max, "Min": sp.Min}
CONSTANTS = {"pi": sp.pi}
FUNCTIONS = (*UNARY, *VARIADIC, "Piecewise")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}
_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Starred: "starred arguments",
    ast.JoinedStr: "strings",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.IfExp: "`a if c else b` (use Piecewise)",
    ast.NamedExpr: "assignments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


def parse_activation(text: str, hyper: Mapping[str, float]) -> sp.Expr:
    """The SymPy expression in `x` of an activation text, or a `SpecError` naming what is refused."""
    if not isinstance(text, str):
        raise SpecError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise SpecError(f"expression is longer than {MAX_CHARS} characters")
    if not text.strip():
        raise SpecError('empty expression; write one in x such as "x**3 - 0.5*x"')
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error below says it in one line
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise SpecError(f"syntax error in expression{col}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"expression is nested too deeply (limit {MAX_DEPTH} levels); simplify it") from None
    except ValueError as exc:  # e.g. null bytes
        raise SpecError(f"expression cannot be parsed: {exc}") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise SpecError(f"expression has {nodes} syntax nodes, more than the limit {MAX_NODES}; simplify it")
    try:
        expr = _Builder(text.strip(), hyper).build(tree.body, 0)
    except (TypeError, ValueError, ArithmeticError, RecursionError, MemoryError) as exc:
        # SymPy refusing a construction (e.g. comparing with a non-real number): still one clear line
        raise SpecError(f"the expression cannot be built: {' '.join(str(exc).split())[:120]}") from None
    if not isinstance(expr, sp.Expr) or isinstance(expr, _CONDITIONS):
        raise SpecError("the expression must be a number-valued function of x, not a condition")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise SpecError("the expression is undefined (a division by zero or an infinite constant)")
    if expr.has(sp.I):
        raise SpecError("the expression has complex values (e.g. sqrt of a negative number); use real ones")
    return expr


class _Builder:
    """Walks the syntax tree; every node kind it does not know is refused."""

    def __init__(self, text: str, hyper: Mapping[str, float]):
        self.text, self.hyper = text, dict(hyper)

    def part(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        return segment if len(segment) <= 40 else segment[:37] + "..."

    def refuse(self, node: ast.AST, what: str) -> SpecError:
        return SpecError(f"not allowed in an expression: {what} (`{self.part(node)}`)")

    # -- number-valued nodes -------------------------------------------------------------------
    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise SpecError(f"expression is nested more than {MAX_DEPTH} levels deep; simplify it")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                arg = self.build(node.operand, depth + 1)
                return -arg if isinstance(node.op, ast.USub) else arg
            raise self.refuse(node, f"the operator `{_op_text(node.op)}`")
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            raise self.refuse(node, "a condition outside Piecewise")
        if isinstance(node, ast.Tuple):
            raise self.refuse(node, "a tuple outside Piecewise")
        raise self.refuse(node, _NODE_WORDS.get(type(node), f"`{type(node).__name__}`"))

    def constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else f"the constant {value!r}"
            raise self.refuse(node, kind)
        if isinstance(value, int):
            if value.bit_length() > MAX_CONSTANT_BITS:
                raise self.refuse(node, "a number this large")
            return sp.Integer(value)
        if not math.isfinite(value):
            raise self.refuse(node, "an infinite number")
        literal = self.part(node)
        if _DECIMAL.match(literal):  # short decimals are exact: 0.2 is 1/5, not its binary neighbour
            fraction = Fraction(literal)
            return sp.Rational(fraction.numerator, fraction.denominator)
        return sp.Float(value)

    def name(self, node: ast.Name) -> sp.Expr:
        ident = node.id
        if ident.startswith("_"):
            raise self.refuse(node, "a name starting with `_`")
        if ident == "x":
            return x
        if ident in self.hyper:
            return symbol_for(ident)
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in FUNCTIONS:
            raise SpecError(f"`{ident}` is a function; call it, e.g. `{ident}(x)`")
        known = ["x", "pi", *self.hyper]
        raise SpecError(
            f"unknown name `{ident}` in expression; use x, pi or a hyperparameter "
            f"defined under `hyperparameters:`.{did_you_mean(ident, known + list(FUNCTIONS))}"
        )

    def binary(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = type(node.op)
        if op not in _BINARY:
            hint = "; use `**` for powers" if op is ast.BitXor else ""
            raise SpecError(
                f"not allowed in an expression: the operator `{_op_text(node.op)}` "
                f"(`{self.part(node)}`){hint}"
            )
        left = self.build(node.left, depth + 1)
        if op is ast.Pow:
            return self.power(node, left, depth)
        right = self.build(node.right, depth + 1)
        if op is ast.Div and right == 0:
            raise self.refuse(node, "a division by zero")
        if left.is_Number and right.is_Number:
            self.check_size(node, left, right, op)
        result = {
            ast.Add: lambda: sp.Add(left, right),
            ast.Sub: lambda: sp.Add(left, -right),
            ast.Mult: lambda: sp.Mul(left, right),
            ast.Div: lambda: sp.Mul(left, sp.Pow(right, -1)),
        }[op]()
        return self.check_degree(node, result)

    def power(self, node: ast.BinOp, base: sp.Expr, depth: int) -> sp.Expr:
        exponent = self.build(node.right, depth + 1)
        exponent = exponent.subs(
            {symbol_for(k): v for k, v in self.hyper.items()}
        )  # value of a hyperparameter
        if not exponent.is_Number:
            raise self.refuse(node.right, "an exponent that is not a constant number")
        if exponent.is_Float and float(2 * exponent).is_integer():  # a hyperparameter's 3.0 is the integer 3
            exponent = sp.Rational(int(2 * exponent), 2)
        if abs(exponent) > MAX_EXPONENT:
            raise self.refuse(node, f"an exponent beyond +-{MAX_EXPONENT}")
        if base.is_Number:
            if base == 0 and exponent < 0:
                raise self.refuse(node, "a division by zero")
            if (
                base != 0
                and abs(float(exponent)) * abs(math.log2(abs(float(base)) or 1.0)) > MAX_CONSTANT_BITS
            ):
                raise self.refuse(node, "a constant this large")
            if base < 0 and not exponent.is_Integer:
                raise self.refuse(node, "a fractional power of a negative number")
        elif base.has(x) and not (2 * exponent).is_Integer:
            raise self.refuse(node, "a power of x other than a whole or half-whole number")
        return self.check_degree(node, sp.Pow(base, exponent))

    def check_size(self, node: ast.AST, left: sp.Expr, right: sp.Expr, op: type) -> None:
        sizes = [abs(float(v)) for v in (left, right)]
        bits = (
            sum(math.log2(s) for s in sizes if s > 1)
            if op is ast.Mult
            else max((math.log2(s) for s in sizes if s > 1), default=0)
        )
        if bits > MAX_CONSTANT_BITS - 2:
            raise self.refuse(node, "a constant this large")

    def check_degree(self, node: ast.AST, expr: sp.Expr) -> sp.Expr:
        for power in expr.atoms(sp.Pow):
            if power.exp.is_Number and abs(power.exp) > MAX_EXPONENT:
                raise self.refuse(node, f"a power beyond +-{MAX_EXPONENT}")
        return expr

    # -- calls and Piecewise ---------------------------------------------------------------------
    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node.func, "calling anything but a named function")
        fname = node.func.id
        if fname.startswith("_"):
            raise self.refuse(node.func, "a name starting with `_`")
        if fname not in FUNCTIONS:
            raise SpecError(
                f"unknown function `{fname}` in expression; allowed: {', '.join(FUNCTIONS)}."
                + did_you_mean(fname, FUNCTIONS)
            )
        if node.keywords:
            raise self.refuse(node, f"keyword arguments to `{fname}`")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.refuse(node, "starred arguments")
        if fname == "Piecewise":
            return self.piecewise(node, depth)
        args = [self.build(arg, depth + 1) for arg in node.args]
        if fname in UNARY:
            if len(args) != 1:
                raise SpecError(f"`{fname}` takes one argument, got {len(args)}: `{self.part(node)}`")
            if fname in ("log", "sqrt") and args[0].is_Number and args[0] <= (0 if fname == "log" else -1):
                raise self.refuse(node, f"`{fname}` of {args[0]}")
            return self.check_degree(node, UNARY[fname](args[0]))
        if len(args) < 2:
            raise SpecError(f"`{fname}` takes two or more arguments, got {len(args)}: `{self.part(node)}`")
        return VARIADIC[fname](*args)

    def piecewise(self, node: ast.Call, depth: int) -> sp.Expr:
        if not node.args:
            raise SpecError("`Piecewise` needs branches: Piecewise((expr, condition), ..., (expr, True))")
        branches = []
        for i, arg in enumerate(node.args):
            if not isinstance(arg, ast.Tuple) or len(arg.elts) != 2:
                raise SpecError(
                    f"Piecewise branch {i + 1} must be a pair `(expr, condition)`, got `{self.part(arg)}`"
                )
            branches.append((self.build(arg.elts[0], depth + 2), self.condition(arg.elts[1], depth + 2)))
        if branches[-1][1] is not sp.true:
            raise SpecError("the last branch of Piecewise must be `(expr, True)` so every x is covered")
        return sp.Piecewise(*branches)

    def condition(self, node: ast.AST, depth: int) -> sp.Basic:
        if depth > MAX_DEPTH:
            raise SpecError(f"expression is nested more than {MAX_DEPTH} levels deep; simplify it")
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        if isinstance(node, ast.Compare):
            terms = [self.build(node.left, depth + 1)] + [self.build(c, depth + 1) for c in node.comparators]
            parts = []
            for op, left, right in zip(node.ops, terms, terms[1:], strict=False):
                if type(op) not in _COMPARE:
                    raise self.refuse(node, f"the comparison `{_op_text(op)}` (use < <= > >=)")
                parts.append(_COMPARE[type(op)](left, right))
            return sp.And(*parts)
        if isinstance(node, ast.BoolOp):
            combine = sp.And if isinstance(node.op, ast.And) else sp.Or
            return combine(*(self.condition(v, depth + 1) for v in node.values))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            combine = sp.And if isinstance(node.op, ast.BitAnd) else sp.Or
            return combine(self.condition(node.left, depth + 1), self.condition(node.right, depth + 1))
        raise SpecError(
            f"a Piecewise condition must be a comparison such as `x > 0` or True, got `{self.part(node)}`"
        )


def _op_text(op: ast.AST) -> str:
    return {
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.MatMult: "@",
        ast.BitXor: "^",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.Not: "not",
        ast.Invert: "~",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.In: "in",
        ast.NotIn: "not in",
    }.get(type(op), type(op).__name__)
