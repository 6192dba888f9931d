"""The SymPy symbols a spec's text names: the variable `x` of an activation expression and each
hyperparameter. The later stages (ntksym/symbolic/state.py) build their expressions on these."""

from __future__ import annotations

import sympy as sp

x = sp.Symbol("x", real=True)


def symbol_for(name: str) -> sp.Symbol:
    """The SymPy symbol of a hyperparameter."""
    return sp.Symbol(name, real=True)
