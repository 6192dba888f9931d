"""The depth analysis in a derivation's text, LaTeX and JSON reports (Poole et al. 2016;
Schoenholz et al. 2017; Jacot et al. 2019). Where the spec is not analysed, the reason is shown."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy as sp

from ntksym.depth.fixed_points import make_analysis
from ntksym.depth.symbolic_forms import C_STAR, Q_STAR, C, Q
from ntksym.errors import NtksymError

if TYPE_CHECKING:
    from ntksym.depth.results import FixedPoints
    from ntksym.symbolic.derivation import Recursion

LATEX_NAMES = {Q: "q", Q_STAR: "q^*", C: "c", C_STAR: "c^*"}


@lru_cache(maxsize=32)
def analyse(d: Recursion) -> tuple[FixedPoints | None, Any]:  # Any: an EdgeOfChaos, else the reason (str)
    """(FixedPoints, EdgeOfChaos) at the spec's values, or (None, reason). Cached: text, LaTeX and JSON
    of one derivation share one numeric analysis."""
    try:
        analysis = make_analysis(d, {})
        fp = analysis.fixed_points()
        analysis.check_sweepable()
        return fp, analysis.edge_of_chaos()
    except NtksymError as exc:
        return None, str(exc)
    except (ArithmeticError, ValueError) as exc:  # a numerical failure must not break `derive`
        return None, f"numerical failure in the depth analysis: {type(exc).__name__}: {exc}"


def depth_dict(d: Recursion) -> dict:
    fp, eoc = analyse(d)
    if fp is None:
        return {
            "fixed_point": {"applies": False, "reason": eoc},
            "edge_of_chaos": {"applies": False, "reason": eoc},
        }
    return {"fixed_point": fp.to_dict(), "edge_of_chaos": eoc.to_dict()}


def _num(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and math.isnan(v):
        return "nan (not defined)"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _tex(v) -> str:
    if isinstance(v, float) and math.isnan(v):
        return r"\text{not defined}"
    if isinstance(v, float) and math.isinf(v):
        return r"\infty" if v > 0 else r"-\infty"
    return _num(v)


def _q_star(fp) -> str:
    if math.isnan(fp.q_star) and any(note.startswith("every q is a fixed point") for note in fp.notes):
        return "any (every q is a fixed point)"
    if math.isinf(fp.q_star):
        return "inf (q grows without bound)"
    return _num(fp.q_star)


def _composite_text(fp) -> list[str]:
    """A composed block (layer norm, residual, conv): the maps are numeric compositions, no closed forms."""
    lines = [
        f"depth analysis of {fp.block} (mean field, composed layer maps: Poole et al. 2016, Schoenholz et al. "
        "2017, Yang & Schoenholz 2017, Xiao et al. 2018):",
        f"  state        = {fp.state}",
        f"  length map   q' = {fp.symbolic.length_map} (numeric)",
        f"  q*           = {_q_star(fp)}",
    ]
    if math.isinf(fp.q_star):
        lines += [
            f"  q growth     = {_num(fp.q_growth)} per layer (lim q'/q), step {_num(fp.q_step)} (lim q' - q)",
            f"  chi_1        = {_num(fp.chi_1)}   [lim q (dq12'/dq12) / q' as q -> inf: normalised c = q12 / q]",
        ]
    else:
        lines += [
            f"  chi_1        = {_num(fp.chi_1)}   [dq12'/dq12 at q12 = q11 = q22 = q*: slope of c' at c = 1]",
            f"  c*           = {_num(fp.c_star)}",
            f"  chi_c        = {_num(fp.chi_c)}   [dq12'/dq12 at c*]",
            f"  xi_q         = {_num(fp.xi_q)}   [-1/log|slope of the length map at q*|, slope {_num(fp.chi_q)}]",
            f"  xi_c         = {_num(fp.xi_c)}   [-1/log chi_c]",
        ]
    lines += [f"  phase        = {fp.phase}", f"  correlations = {fp.convergence}"]
    if fp.ntk.regime != "undetermined":
        lines.append(f"  NTK at depth = {fp.ntk.regime}: tends to {fp.ntk.limit}; {fp.ntk.approach}")
    return lines + [f"  note: {n}" for n in fp.notes]


def depth_text(d: Recursion) -> list[str]:
    fp, eoc = analyse(d)
    if fp is None:
        return ["depth analysis: " + eoc]
    if fp.state:
        return _composite_text(fp) + [_edge_line(eoc)]
    f = fp.symbolic
    lines = [
        f"depth analysis of {fp.block} (mean field: Poole et al. 2016, Schoenholz et al. 2017):",
        f"  length map   q' = {f.length_map}",
        f"  q*           = {_q_star(fp)}"
        + (f"   [closed form: {f.q_star}]" if f.q_star is not None else ""),
        f"  chi_1        = {_num(fp.chi_1)}   [{f.chi_1}]",
        f"  correlation  c' = {f.correlation_map}",
        f"  c*           = {_num(fp.c_star)}",
        f"  chi_c        = {_num(fp.chi_c)}   [{f.chi_c} at c*]",
        f"  xi_q         = {_num(fp.xi_q)}   [-1/log(w^2 dV/dq at q*), slope {_num(fp.chi_q)}]",
        f"  xi_c         = {_num(fp.xi_c)}   [-1/log chi_c]",
        f"  phase        = {fp.phase}",
        f"  NTK at depth = {fp.ntk.regime}: tends to {fp.ntk.limit}; {fp.ntk.approach}",
    ]
    lines += [f"  note: {n}" for n in fp.notes]
    lines.append(_edge_line(eoc))
    return lines


def _edge_line(eoc) -> str:
    crit = "none in [0.01, 50]" if math.isnan(eoc.w_std) else f"{eoc.w_std:.6g}"
    return (
        f"edge of chaos at b_std = {eoc.b_std:g}: w_std = {crit}"
        + (f"   [closed form: {eoc.symbolic}]" if eoc.symbolic else "")
        + (f" ({eoc.note})" if eoc.note else "")
    )


def _latex(expr) -> str:
    return sp.latex(expr, symbol_names=LATEX_NAMES)


def depth_latex(d: Recursion) -> list[str]:
    fp, eoc = analyse(d)
    if fp is None:
        return [rf"&\text{{depth analysis: {_plain(eoc)}}}\\"]
    if fp.state:
        return [
            rf"&\text{{depth analysis (mean field, composed layer maps) of {_plain(fp.state)}:}}\\",
            rf"q^* &= {_tex(fp.q_star)}, \quad \chi_1 = {_tex(fp.chi_1)}\\",
            rf"c^* &= {_tex(fp.c_star)}, \quad \chi_c = {_tex(fp.chi_c)}\\",
            rf"&\text{{phase: {fp.phase}; correlations: {_plain(fp.convergence)}}}\\",
        ]
    f = fp.symbolic
    out = [
        r"&\text{depth analysis (mean field):}\\",
        rf"q' &= {_latex(f.length_map)}\\",
        rf"q^* &= {_latex(f.q_star) + ' = ' if f.q_star is not None else ''}{_tex(fp.q_star)}\\",
        rf"\chi_1 &= {_latex(f.chi_1)} = {_tex(fp.chi_1)}\\",
        rf"c' &= {_latex(f.correlation_map)}\\",
        rf"c^* &= {_tex(fp.c_star)}, \quad \chi_c = {_latex(f.chi_c)} = {_tex(fp.chi_c)}\\",
        rf"\xi_q &= {_tex(fp.xi_q)}, \quad \xi_c = -1/\log\chi_c = {_tex(fp.xi_c)}\\",
        rf"&\text{{phase: {fp.phase}; NTK: {_plain(fp.ntk.regime)}, tends to {_plain(fp.ntk.limit)}}}\\",
    ]
    if not math.isnan(eoc.w_std):
        sym = f"{_latex(f.w_std_critical)} = " if eoc.symbolic else ""
        out.append(
            rf"w_{{\mathrm{{std}}}}^{{\mathrm{{edge}}}}(b_{{\mathrm{{std}}}} = {eoc.b_std:g}) "
            rf"&= {sym}{eoc.w_std:.6g}\\"
        )
    return out


def _plain(text: str) -> str:
    return text.replace("\\", "").replace("_", r"\_").replace("{", "").replace("}", "").replace("^", "")
