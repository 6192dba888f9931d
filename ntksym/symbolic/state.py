"""Canonical symbols of the kernel state and the numerically stable building blocks.

For a pair of inputs (x, x'): q11 = Sigma(x, x), q22 = Sigma(x', x'), q12 = Sigma(x, x') are the NNGP
entries and t11, t22, t12 the NTK entries. Diagonal (same-input) maps are written in q11 and t11.
`fan_in` is the previous layer's width, needed by the standard parameterization's NTK.
"""

from __future__ import annotations

import sympy as sp

q11, q22 = sp.symbols("q11 q22", positive=True)
q12 = sp.Symbol("q12", real=True)
t11, t12, t22 = sp.symbols("t11 t12 t22", real=True)
fan_in = sp.Symbol("fan_in", positive=True)

# Gaussian integration variables for the dual E[phi(u) phi(v)].
u, v = sp.symbols("u v", real=True)
x = sp.Symbol("x", real=True)

# sqrt(q11 q22 - q12^2), clamped at zero so rounding never takes a square root of a negative.
SQRT_DET = sp.sqrt(sp.Max(q11 * q22 - q12**2, 0))
# The angle between the two inputs' features, arccos(rho) in [0, pi], computed stably
# as arctan2(sqrt(det), q12) (THEORY.md, numerical stability).
ANGLE = sp.atan2(SQRT_DET, q12)


def symbol_for(name: str) -> sp.Symbol:
    """The SymPy symbol of a hyperparameter."""
    return sp.Symbol(name, real=True)
