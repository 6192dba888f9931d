"""Activations without a closed-form dual here: tanh, sigmoid, softplus, silu, elu, selu.

Their duals stay symbolic as `GaussianExpectation(phi, phi, q11, q12, q22)` and are evaluated by the
Mehler (Hermite) series with a certified truncation bound, `ntksym.codegen.preludes.mehler`, falling back
to the variance-fitted 2-D quadrature of `ntksym.codegen.preludes.quadrature` where the bound does not
meet its tolerance (error estimate of either in `QUADRATURE_ERROR`).
phi and phi' come from their entries in ntksym/activations.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import cast

import sympy as sp

from ntksym.activations import ACTIVATIONS
from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual, GaussianExpectation, GaussianExpectationDiag
from ntksym.symbolic.state import q11, q12, q22, u, v, x

QUADRATURE_ERROR = 1e-10  # relative to sqrt(E[phi(u)^2] E[phi(v)^2]); measured in docs/quadrature.md
SOURCE = ("Mehler's Hermite series (Mehler 1866) with a certified Cauchy-Schwarz truncation bound; "
          "variance-fitted Gaussian quadrature where the bound does not meet 1e-11")

# the activations without a closed-form dual (ntksym/activations.py)
NUMERICAL = tuple(name for name, entry in ACTIVATIONS.items() if entry.dual is None)


@cache
def activation_functions(name: str) -> tuple[sp.Expr, sp.Expr]:
    """(phi(x), phi'(x)) of one of NUMERICAL, built when first asked for (SymPy takes 0.15 s for all six)."""
    entry = ACTIVATIONS[name]
    return entry.function(x), cast(Callable, entry.derivative)(x)


def quadrature_dual(phi: sp.Expr, dphi: sp.Expr, method: str = "quadrature") -> Dual:
    """The dual of any activation phi(x) by quadrature, given phi and phi' in `x`."""
    f, df = sp.Lambda(u, phi.subs(x, u)), sp.Lambda(u, dphi.subs(x, u))
    fv, dfv = sp.Lambda(v, phi.subs(x, v)), sp.Lambda(v, dphi.subs(x, v))
    return Dual(
        GaussianExpectation(f, fv, q11, q12, q22),
        GaussianExpectation(df, dfv, q11, q12, q22),
        GaussianExpectationDiag(f, f, q11),
        GaussianExpectationDiag(df, df, q11),
        method, SOURCE, QUADRATURE_ERROR,
    )


def numerical(act: Activation) -> Dual:
    phi, dphi = activation_functions(act.name)
    return quadrature_dual(phi, dphi)
