"""Spec values -> SymPy: hyperparameter references become symbols, numbers stay exact."""

from __future__ import annotations

import sympy as sp

from ntksym.spec.schema import Ref
from ntksym.symbolic.state import symbol_for


def to_sympy(value: object) -> sp.Expr:
    """A spec number (float, int or `Ref`) as a SymPy expression."""
    if isinstance(value, Ref):
        return symbol_for(value.name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a spec number: {value!r}")
    if float(value).is_integer():
        return sp.Integer(int(value))
    return sp.Float(float(value))  # 53-bit: the exact binary value of the spec's float
