"""Canonical symbols of the kernel state and the numerically stable building blocks.

For a pair of inputs (x, x'): q11 = Sigma(x, x), q22 = Sigma(x', x'), q12 = Sigma(x, x') are the NNGP
entries and t11, t22, t12 the NTK entries. g12 = sqrt(q11 q22) - q12 is the correlation gap, which the
generated code carries instead of q12 so that deep kernels keep 1 - rho below machine epsilon (gap.py).
Diagonal (same-input) maps are written in q11 and t11.
`fan_in` is the previous layer's width, needed by the standard parameterization's NTK.
"""

from __future__ import annotations

import sympy as sp

from ntksym.spec.symbols import symbol_for, x  # noqa: F401 (the spec's symbols, re-exported)

q11, q22 = sp.symbols("q11 q22", positive=True)
q12 = sp.Symbol("q12", real=True)
t11, t12, t22 = sp.symbols("t11 t12 t22", real=True)
g12 = sp.Symbol("g12", nonnegative=True)
fan_in = sp.Symbol("fan_in", positive=True)

# Gaussian integration variables for the dual E[phi(u) phi(v)].
u, v = sp.symbols("u v", real=True)


class ClampedSqrt(sp.Function):
    """sqrt(max(a, 0)), with a zero (not infinite) derivative at a = 0 in the generated code.

    Rounding can make q11 q22 - q12^2 slightly negative, and on the diagonal it is exactly zero, where the
    plain square root's gradient is infinite and `jax.grad` of a kernel would be NaN.
    """

    nargs = 1

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_number:
            return sp.sqrt(sp.Max(arg, 0))
        return None

    @staticmethod
    def _imp_(a):  # for sympy.lambdify on derived expressions (numpy)
        import numpy as np

        return np.sqrt(np.maximum(a, 0))

    def _eval_is_nonnegative(self):
        return True

    def _eval_is_real(self):
        return True

    def _sympystr(self, printer):
        return f"sqrt({printer.doprint(self.args[0])})"

    def _latex(self, printer):
        return r"\sqrt{" + printer.doprint(self.args[0]) + "}"


# sqrt(q11 q22 - q12^2), clamped at zero so rounding never takes a square root of a negative.
SQRT_DET = ClampedSqrt(q11 * q22 - q12**2)
# The angle between the two inputs' features, arccos(rho) in [0, pi], computed stably
# as arctan2(sqrt(det), q12) (THEORY.md, numerical stability).
ANGLE = sp.atan2(SQRT_DET, q12)
