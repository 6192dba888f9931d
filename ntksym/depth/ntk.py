"""The NTK at depth: where the normalised NTK Theta^l(x, x') / Theta^l(x, x) goes, and how fast.

Jacot, Gabriel, Hongler 2019, "Freeze and Chaos for DNNs: an NTK view of batch normalization,
checkerboard and boundary effects"; Hayou et al. 2019, "Mean-field behaviour of neural tangent
kernel for deep neural networks". At the fixed point the ntk-parameterized recursion reads
  Theta^{l+1}(x, x)  = q* + chi_1 Theta^l(x, x),
  Theta^{l+1}(x, x') = q* c_{l+1} + w^2 E[phi'(u) phi'(v)](c_l) Theta^l(x, x').
- freeze (chi_1 < 1): c_l -> 1, both tend to q* / (1 - chi_1): the normalised NTK tends to the
  constant all-ones matrix; its distance to it decays like l chi_1^l (rate chi_1 per layer).
- chaos (chi_1 > 1): Theta(x, x) ~ chi_1^l, Theta(x, x') ~ max(|chi_c|, 1)^l: it tends to the Kronecker
  delta at rate max(|chi_c|, 1) / chi_1 per layer.
- edge of chaos (chi_1 = 1): write the correlation map as 1 - c' = e - k e^p with e = 1 - c (p = 3/2
  for a kink at 0 as in ReLU, p = 2 for smooth phi). Then 1 - c_l ~ A / l^{1/(p-1)} with
  A = ((p - 1) k)^{-1/(p-1)} (ReLU: k = 2 sqrt 2 / (3 pi), A = 9 pi^2 / 2), and since
  chi_c(c) = dc'/dc = 1 - p k e^{p-1} = 1 - (p/(p-1)) / l, Theta(x, x') ~ q* l / (1 + p/(p-1)) while
  Theta(x, x) = q* l: the normalised NTK tends to the constant (p-1)/(2p-1) off the diagonal
  (ReLU: 1/4, smooth phi: 1/3), approached like 1/l.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from ntksym.depth.numeric_dual import NumericDual

EPS = (1e-4, 1e-5)


@dataclass(frozen=True)
class NTKDepth:
    regime: str  # "freeze" | "chaos" | "edge of chaos" | "undetermined"
    limit: str  # what the normalised NTK tends to
    off_diagonal_limit: float  # its off-diagonal entries' limit (distinct inputs); nan: undetermined
    rate: float  # per-layer factor of the exponential approach (nan: polynomial or undetermined)
    depth_scale: float  # -1 / log(rate): inf at rate >= 1, nan where the rate is nan
    approach: str  # in words, with the numbers
    approach_exponent: float = math.nan  # edge of chaos: 1 - c_l ~ A l^-exponent (nan elsewhere)
    approach_constant: float = math.nan  # A (nan elsewhere)
    approach_symbolic: str | None = None  # A in closed form, where SymPy finds it

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def ntk_depth(phase: str, chi_1: float, chi_c: float, eoc: tuple | None) -> NTKDepth:
    if phase == "ordered":
        rate = chi_1
        assert rate is not None  # a phase is named only where chi_1 is known
        return NTKDepth(
            "freeze",
            "constant matrix (all entries equal)",
            1.0,
            rate,
            _scale(rate),
            f"exponential: distance ~ l * {rate:.6g}^l",
        )
    if phase == "chaotic":
        assert chi_1 is not None and chi_c is not None  # a phase is named only where both are known
        rate = max(abs(chi_c), 1.0) / chi_1
        return NTKDepth(
            "chaos",
            "Kronecker delta (identity matrix)",
            0.0,
            rate,
            _scale(rate),
            f"exponential: off-diagonal ~ {rate:.6g}^l",
        )
    if phase == "edge of chaos" and eoc is not None:
        p, A, symbolic = eoc
        exponent, lam = 1.0 / (p - 1.0), (p - 1.0) / (2.0 * p - 1.0)
        constant = symbolic or f"{A:.6g}"
        text = f"polynomial: 1 - c_l ~ {constant} / l^{exponent:g}; NTK off-diagonal -> {lam:.6g} like 1/l"
        return NTKDepth(
            "edge of chaos",
            f"constant {lam:.6g} off the diagonal, 1 on it",
            lam,
            math.nan,
            math.nan,
            text,
            exponent,
            A,
            symbolic,
        )
    return NTKDepth("undetermined", "not determined (no finite fixed point, or q* = 0)", math.nan, math.nan, math.nan, "")


def _scale(rate: float) -> float:
    return float("inf") if rate >= 1 else (0.0 if rate <= 0 else float(-1 / np.log(rate)))


def eoc_approach(nd: NumericDual, w2: float, b2: float, q: float) -> tuple[float, float, None]:
    """`eoc_approach_fn` on the correlation map c -> (w^2 C(q, c) + b^2) / q of a dense + activation block."""
    return eoc_approach_fn(lambda c: (w2 * float(nd.C(q, np.array(c))) + b2) / q)


def eoc_approach_fn(corr) -> tuple[float, float, None]:
    """(p, A, None) from a correlation map `corr` (float -> float) near c = 1: e - (1 - c'(1 - e)) = k e^p,
    measured at two small e, p snapped to the nearest half-integer (the analytic structure: kink 3/2,
    smooth 2), then k extrapolated in e (Richardson, next order e^(p-1) for a kink, e for smooth phi)."""

    def gap(e: float) -> float:
        return corr(1.0 - e) - (1.0 - e)  # = k e^p + ...

    g = [gap(e) for e in EPS]
    p_raw = np.log(g[0] / g[1]) / np.log(EPS[0] / EPS[1])
    p = round(2 * p_raw) / 2
    k = [gi / e**p for gi, e in zip(g, EPS, strict=True)]
    r = (EPS[1] / EPS[0]) ** (p - 1 if p < 2 else 1.0)
    k_ext = (k[1] - r * k[0]) / (1 - r)
    return p, ((p - 1) * k_ext) ** (-1 / (p - 1)), None


@lru_cache(maxsize=32)
def eoc_symbolic(corr_map: sp.Expr, c: sp.Symbol) -> tuple[float, float, str] | None:
    """(p, A, A as text) from a closed-form correlation map (all hyperparameters substituted)
    by a series in s = sqrt(1 - c): ReLU gives 1 - c' = e - 2 sqrt(2)/(3 pi) e^(3/2)."""
    s = sp.Symbol("s", positive=True)
    # acos(c) = 2 asin(sqrt((1 - c)/2)) and sqrt(1 - c^2) = s sqrt(2 - s^2): SymPy expands these fast.
    expr = corr_map.replace(sp.acos, lambda a: 2 * sp.asin(sp.sqrt((1 - a) / 2))).subs(c, 1 - s**2)
    expr = expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp == sp.Rational(1, 2), lambda e: sp.sqrt(sp.factor(e.base))
    )
    try:
        series = sp.series(expr, s, 0, 4).removeO()
    except Exception:  # noqa: BLE001 - SymPy gives up in many ways; the numeric estimate stands
        return None
    rest = sp.expand(series - 1 + s**2)
    terms = sp.Poly(rest, s).terms() if rest.is_polynomial(s) else []
    if not terms:
        return None
    (deg,), k = min(terms, key=lambda t: t[0][0])
    p = sp.Rational(deg, 2)
    if p <= 1 or not k.is_positive:
        return None
    A = sp.simplify(((p - 1) * k) ** (-1 / (p - 1)))
    return float(p), float(A), str(A)
