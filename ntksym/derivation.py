"""`ntksym.derive`: a spec's derivation with its reports and its depth analysis.

The recursion itself is derived by the symbolic stage (ntksym/symbolic/derivation.py); this module adds what
users ask of it: `text()`, `latex()`, `to_dict()` (ntksym/reports) and the fixed points, the edge of chaos and
the critical curve (ntksym/depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ntksym.depth import fixed_points as depth
from ntksym.depth.results import EdgeOfChaos, FixedPoints
from ntksym.reports.derivation import derivation_dict, derivation_latex, derivation_text
from ntksym.spec.schema import Spec
from ntksym.symbolic.derivation import Recursion, derive_recursion


@dataclass(frozen=True)
class Derivation(Recursion):
    """The layerwise NNGP/NTK recursion of a spec, as SymPy expressions, with its reports and depth analysis."""

    def text(self) -> str:
        return derivation_text(self)

    def latex(self) -> str:
        return derivation_latex(self)

    def to_dict(self) -> dict:
        return derivation_dict(self)

    def __str__(self) -> str:
        return self.text()

    def fixed_points(self, **hyperparameter_overrides: float) -> FixedPoints:
        """Depth analysis at the spec's values (or overrides): q*, chi_1, c*, chi_c, xi_q, xi_c, phase."""
        return depth.fixed_points(self, **hyperparameter_overrides)

    def edge_of_chaos(self, b_std: float | None = None, **hyperparameter_overrides: float) -> EdgeOfChaos:
        """The critical w_std (chi_1 = 1) at b_std (default: the spec's)."""
        return depth.edge_of_chaos(self, b_std, **hyperparameter_overrides)

    def critical_curve(self, b_values: ArrayLike, **hyperparameter_overrides: float) -> np.ndarray:
        """The edge of chaos w_std(b_std) for each of b_values (NaN where chi_1 never reaches 1)."""
        return depth.critical_curve(self, b_values, **hyperparameter_overrides)


def derive(spec: Spec) -> Derivation:
    """Derive the layerwise kernel recursions of `spec`."""
    recursion = derive_recursion(spec)
    return Derivation(recursion.spec, recursion.steps)
