"""A SymPy printer for the generated JAX modules.

It subclasses SymPy's `JaxPrinter`, whose defaults break under `jit` in SymPy 1.14 (erf is printed as
`math.erf`, Max as a `functools.reduce`). Known functions come from a table (`CALLS`); anything unknown is refused
loudly (`CodegenError`), never printed as a comment.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import JaxPrinter

from ntksym.errors import CodegenError

# Module prefixes in the generated text: `import jax.numpy as jnp`, `import jax.scipy.special as jsp`.
_ALIASES = {"jax.numpy": "jnp", "jax.scipy.special": "jsp", "jax.lax": "lax"}

# SymPy function -> the call it prints as, every argument printed in order: a jnp / jsp function, or a
# helper defined once in a prelude (names starting with `_`; tests/test_codegen.py checks each exists).
CALLS = {
    "erf": "jsp.erf",
    "erfc": "jsp.erfc",
    "sign": "jnp.sign",
    "Abs": "jnp.abs",
    "atan2": "_atan2",  # vectorisable: XLA's arctan2 calls scalar libm on CPU
    "ClampedSqrt": "_clamped_sqrt",
    "SqrtDetFromGap": "_sqrt_det_from_gap",
    "AffineGap": "_affine_gap",
    "ScaledSinMinusThetaCos": "_scaled_sin_minus_theta_cos",
    "SafeDiv": "_safe_div",
    "GaussianExpectation": "_expect_pair",
    "GaussianExpectationDiag": "_expect_same",
}


class KernelPrinter(JaxPrinter):
    """Prints SymPy expressions as `jnp` code; used only on derived expressions, never on user text."""

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False, **(settings or {})})

    def _module_format(self, fqn, register=True):
        module, _, name = fqn.rpartition(".")
        return f"{_ALIASES.get(module, module)}.{name}" if module else fqn

    def _print_not_supported(self, expr):
        raise CodegenError(f"the code generator cannot print {type(expr).__name__}: {expr}")

    _print_Derivative = _print_Integral = _print_Limit = _print_Sum = _print_not_supported

    def _print_Float(self, expr):
        return _float_literal(float(expr))

    def _print_Integer(self, expr):
        # beyond 2**53 as a float: a Python int of hundreds of digits overflows JAX's int64 arguments
        return str(expr.p) if abs(expr.p) <= _EXACT else _float_literal(_ratio(expr.p, 1))

    def _print_Rational(self, expr):
        if expr.q == 1:
            return self._print_Integer(expr)
        if abs(expr.p) <= _EXACT and expr.q <= _EXACT:
            return f"{expr.p}/{expr.q}"
        return _float_literal(_ratio(expr.p, expr.q))  # `p/q` of huge ints could overflow at import

    def _print_Pi(self, expr):
        return "jnp.pi"

    def _print_Max(self, expr):
        return self._nested("jnp.maximum", expr.args)

    def _print_Min(self, expr):
        return self._nested("jnp.minimum", expr.args)

    def _nested(self, fn: str, args) -> str:
        out = self._print(args[0])
        for arg in args[1:]:
            out = f"{fn}({out}, {self._print(arg)})"
        return out

    def _print_Heaviside(self, expr):
        return f"jnp.heaviside({self._print(expr.args[0])}, 0.5)"

    def _print_Lambda(self, expr):
        (var,) = expr.variables
        return f"lambda {self._print(var)}: {self._print(expr.expr)}"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if name.startswith("_print"):
            return super()._print_Function(expr)
        raise CodegenError(f"the code generator has no JAX form for the function `{name}` in {expr}")


def _call_printer(function: str):
    def print_call(self, expr):
        return f"{function}({', '.join(self._print(arg) for arg in expr.args)})"

    return print_call


for _name, _function in CALLS.items():  # installed as SymPy's own printers define theirs: _print_<Class>
    setattr(KernelPrinter, f"_print_{_name}", _call_printer(_function))


_EXACT = 2**53


def _ratio(p: int, q: int) -> float:
    """p / q as a float, +-inf where it is beyond float64 (Python raises OverflowError there)."""
    try:
        return p / q
    except OverflowError:
        return float("inf") if (p > 0) == (q > 0) else float("-inf")


def _float_literal(value: float) -> str:
    """A Python literal of `value`: repr for finite numbers, `jnp.inf` (never the bare name `inf`) else.

    An infinite constant comes from spec numbers whose kernel overflows float64 (w_std = 1e200 squares
    to 1e400): the generated kernel then computes inf and the runtime reports the overflow."""
    if value != value:
        return "jnp.nan"
    if value in (float("inf"), float("-inf")):
        return "jnp.inf" if value > 0 else "(-jnp.inf)"
    return repr(value)


def print_expression(expr: sp.Expr) -> str:
    return KernelPrinter().doprint(expr)
