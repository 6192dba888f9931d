"""How a derivation's expressions are shown: the one place for display forms and LaTeX escaping.

Formulas are shown with theta = arccos(q12 / sqrt(q11 q22)) and sqrt(q11 q22 - q12^2) written out,
which is what the stable forms in the generated code compute.
"""

from __future__ import annotations

import sympy as sp

from ntksym.symbolic.state import ANGLE, SQRT_DET, fan_in, q11, q12, q22, t11, t12

THETA = sp.Symbol("theta")
LATEX_NAMES = {q11: "q_{11}", q12: "q_{12}", q22: "q_{22}", t11: "t_{11}", t12: "t_{12}",
               fan_in: r"n_{\mathrm{in}}", THETA: r"\theta"}


def readable(expr: sp.Expr) -> sp.Expr:
    """Angles as theta, clamped square roots as plain ones: for display only."""
    return expr.subs(ANGLE, THETA).subs(SQRT_DET, sp.sqrt(q11 * q22 - q12**2, evaluate=False))


def latex_expression(expr: sp.Expr) -> str:
    return sp.latex(readable(expr), symbol_names=LATEX_NAMES)


def latex_text(text: str) -> str:
    """Plain text safe inside \\text{...}."""
    return text.replace("\\", "").replace("_", r"\_").replace("{", "").replace("}", "")
