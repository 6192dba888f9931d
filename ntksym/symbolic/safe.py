"""SafeDiv: a / b with 0 where b = 0, for ratios that are 0/0 only at a zero-variance input.

Layer norm divides by the input's own variance: a zero input vector (no bias) has variance 0, and x / |x|
is 0/0. Every implementation adds an epsilon, x / sqrt(mean(x^2) + eps), which maps 0 to 0: the NNGP of a
zero input after layer norm is 0, and so is its NTK (no gradient passes). This is a valid kernel (the
feature map of the zero input is the zero vector), so it stays PSD.
"""

from __future__ import annotations

import sympy as sp


class SafeDiv(sp.Function):
    """SafeDiv(a, b) = a / b for b != 0, and 0 for b = 0 (printed as `_safe_div` in generated code)."""

    nargs = 2

    @classmethod
    def eval(cls, a: sp.Expr, b: sp.Expr) -> sp.Expr | None:
        if b.is_number:
            return sp.Integer(0) if b.is_zero else a / b
        return None

    @staticmethod
    def _imp_(a, b):  # for sympy.lambdify (numpy)
        import numpy as np

        b = np.asarray(b)
        safe = np.where(b != 0, b, 1)
        return np.where(b != 0, np.asarray(a) / safe, 0.0)

    def _sympystr(self, printer):
        return f"{printer.parenthesize(self.args[0], 50)}/{printer.parenthesize(self.args[1], 51)}"

    def _latex(self, printer):
        return r"\frac{" + printer.doprint(self.args[0]) + "}{" + printer.doprint(self.args[1]) + "}"
