"""What the depth analysis returns: the fixed points and depth scales of a block, the edge of chaos, and
their JSON form (ntksym/depth/fixed_points.py for a dense + activation block, composite.py for composed ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntksym.depth.ntk import NTKDepth
from ntksym.depth.symbolic_forms import SymbolicForms

EDGE_RTOL = 1e-9  # |chi_1 - 1| below this: the edge of chaos
PHASES = ("ordered", "chaotic", "edge of chaos", "no finite fixed point")
NAN = math.nan


NUMBER_FIELDS = ("q_star", "chi_1", "c_star", "chi_c", "xi_q", "xi_c", "chi_q", "w_std", "b_std", "q_growth",
                 "q_step", "c_exponent")


@dataclass(frozen=True)
class FixedPoints:
    """The depth quantities of the block at one (w_std, b_std). Every number is a float, never None:

    - q_star: the stable fixed point of the length map; 0.0 when the signal vanishes (b = 0, phi(0) = 0);
      inf when there is no finite fixed point (q grows without bound with depth); nan when every q is a
      fixed point (the length map is the identity, e.g. ReLU at w^2 = 2, b = 0).
    - chi_1: w^2 E[phi'(sqrt(q*) z)^2], always a number: without a finite fixed point it is the limit as
      q -> inf (ReLU: w^2 / 2; inf where it grows without bound, e.g. polynomial phi of degree >= 2).
    - c_star, chi_c: the stable fixed point of the correlation map and its slope there; nan where the
      correlation map is not defined (q* = 0 for c_star; no finite fixed point for both).
    - chi_q: the slope of the length map at q* (without a finite fixed point: its limit as q -> inf).
    - xi_q, xi_c: depth scales -1/log|chi_q|, -1/log|chi_c|; inf where |chi| >= 1, nan where chi is nan.
    - q_growth, q_step: without a finite fixed point, lim q'/q and lim q' - q as q -> inf (the per-layer
      growth factor and, where that is 1, the per-layer increment; inf where it grows faster); nan where
      q* is finite.
    - convergence: how correlations converge with depth, in words; c_exponent: p in 1 - c_l ~ l^-p
      where the approach is polynomial (edge of chaos; residual blocks: measured), else nan.
    - state: what q* and c* are the variance and correlation of (composed blocks; "" for dense +
      activation: the pre-activation).
    """

    w_std: float
    b_std: float
    q_star: float
    chi_1: float
    c_star: float
    chi_c: float
    chi_q: float  # slope of the length map at q*
    xi_q: float
    xi_c: float
    phase: str  # one of PHASES
    ntk: NTKDepth
    symbolic: SymbolicForms
    block: str  # key path of the analysed block
    notes: tuple[str, ...] = ()
    q_growth: float = NAN
    q_step: float = NAN
    convergence: str = ""
    c_exponent: float = NAN
    state: str = ""

    def to_dict(self) -> dict:
        """JSON-ready: numbers stay numbers; inf and nan (not JSON) become null, and `nonfinite` names
        each such field with "inf", "-inf" or "nan" (the schema: `ntksym schema --derive`)."""
        keys = ("q_star", "chi_1", "c_star", "chi_c", "xi_q", "xi_c", "phase", "chi_q", "w_std", "b_std", "block",
                "q_growth", "q_step", "c_exponent", "convergence", "state")
        out = json_numbers({k: getattr(self, k) for k in keys})
        out["notes"] = list(self.notes)
        out["ntk"] = json_numbers(self.ntk.to_dict())
        out["symbolic"] = self.symbolic.as_strings()
        return out


@dataclass(frozen=True)
class EdgeOfChaos:
    """The critical w_std (chi_1 = 1) at b_std; w_std and chi_1 are nan where chi_1 does not cross 1
    for w_std in [0.01, 50]. `symbolic` is the closed form of w_std as text, or None."""

    w_std: float
    b_std: float
    chi_1: float  # at w_std, approached from the ordered side
    symbolic: str | None
    note: str = ""

    def to_dict(self) -> dict:
        return json_numbers(dict(self.__dict__))


def convergence_text(phase: str, chi: float, c_star: float, chi_c: float, eoc: tuple | None) -> str:
    """How the correlation of two inputs converges with depth (Schoenholz et al. 2017), in words."""
    if phase == "ordered":
        return f"exponential: 1 - c_l ~ {chi:.6g}^l" if chi > 0 else "exponential"
    if phase == "chaotic":
        return f"to c* = {c_star:.6g} < 1, exponential at rate |chi_c| = {abs(chi_c):.6g}"
    if math.isnan(c_star):
        return "not determined (q* = 0)"
    return "polynomial" + (f": 1 - c_l ~ l^-{1 / (eoc[0] - 1):g}" if eoc else "")


def nonfinite_name(v) -> str | None:
    """The name of a non-finite float ("inf", "-inf" or "nan"); None for anything else."""
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return None


def json_numbers(values: dict) -> dict:
    """`values` with each non-finite float replaced by null (JSON has no inf or nan) and a `nonfinite`
    entry mapping those keys to "inf", "-inf" or "nan" (empty when every number is finite)."""
    out: dict[str, Any] = {}
    nonfinite: dict[str, str] = {}
    for key, v in values.items():
        name = nonfinite_name(v)
        if name is not None:
            out[key], nonfinite[key] = None, name
        else:
            out[key] = float(v) if isinstance(v, np.floating) else v
    out["nonfinite"] = nonfinite
    return out
