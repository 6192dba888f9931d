"""Text, LaTeX and JSON of the spatial steps (conv, avg_pool, global_avg_pool, flatten).

On a spatial state q12 stands for the covariance q12(p, p') of pixel p of x and pixel p' of x'; the
entrywise layers act on each pixel pair, with q11 = q11(p, p) and q22 = q22(p', p') from the diagonals.
"""

from __future__ import annotations

import math

import sympy as sp

from ntksym.symbolic.state import fan_in, q12, t12
from ntksym.symbolic.steps import SpatialStep

PADDING_TEXT = {"SAME": "zero outside the image (SAME)", "VALID": "no padding (VALID)",
                "CIRCULAR": "indices wrap around (CIRCULAR)"}
HEADER = [
    "Spatial state: q12 = q12(p, p'), the covariance of pixel p of x and pixel p' of x' (channel mean);",
    "       dense, activation and layer_norm act on each pixel pair with q11 = q11(p, p), q22 = q22(p', p').",
    "input: q12(p, p') = <x(p), x'(p')> / C (C channels),  t12 = 0",
]


def _window_text(window: tuple[int, ...]) -> str:
    return "x".join(map(str, window))


def _patched(expr: sp.Expr, step: SpatialStep, names: tuple[str, str] = ("A[q12]", "A[t12]")) -> sp.Expr:
    """The conv's affine map written on the patch averages A[q12], A[t12]; fan_in = C * filter size."""
    size = math.prod(step.window)
    q, t = (sp.Symbol(name) for name in names)
    return expr.subs({q12: q, t12: t, fan_in: sp.Symbol("C") * size})


def spatial_text(step: SpatialStep, indent: str) -> list[str]:
    lines = [f"{indent}{step.path}: {step.label}"]
    pad = PADDING_TEXT[step.padding]
    if step.kind == "conv":
        size = math.prod(step.window)
        lines.append(f"{indent}    A[K](p, p') = 1/{size} sum_(d in {_window_text(step.window)}) "
                     f"K(s p + d, s p' + d), s = {list(step.stride)}, {pad}")
        lines.append(f"{indent}    q12' = {_patched(step.nngp, step)}")
        lines.append(f"{indent}    t12' = {_patched(step.ntk, step)}" + (
            "   (C = input channels)" if step.ntk.has(fan_in) else ""))
    elif step.kind == "avg_pool":
        size = math.prod(step.window)
        lines.append(f"{indent}    q12'(p, p') = 1/{size**2} sum_(d, d' in {_window_text(step.window)}) "
                     f"q12(s p + d, s p' + d'), s = {list(step.stride)}, {pad};  t12' likewise")
    elif step.kind == "global_avg_pool":
        lines.append(f"{indent}    q12' = 1/P^2 sum_(p, p') q12(p, p') over the P pixels;  t12' likewise "
                     "(fully connected from here)")
    else:
        lines.append(f"{indent}    q12' = 1/P sum_p q12(p, p) over the P pixels;  t12' likewise; "
                     "fan_in' = P C (fully connected from here)")
    return lines


LATEX_INPUT = r"q_{12}(p, p') &= \langle x(p), x'(p') \rangle / C, \quad t_{12} = 0 \\"
LATEX_NAMES = ("A[q_{12}]", "A[t_{12}]")


def spatial_latex(step: SpatialStep, latex, text) -> list[str]:
    """`latex` prints an expression with the report's symbol names, `text` escapes plain text."""
    out = [rf"&\text{{{text(step.path)}: {text(step.label)}}}\\"]
    if step.kind == "conv":
        size = math.prod(step.window)
        avg = rf"\frac{{1}}{{{size}}} \sum_{{d}} K(s p + d, s p' + d)"
        out.append(rf"A[K](p, p') &= {avg} \quad \text{{({step.padding}, $s = {list(step.stride)}$)}}\\")
        out.append(rf"q_{{12}}' &= {latex(_patched(step.nngp, step, LATEX_NAMES))} \\")
        out.append(rf"t_{{12}}' &= {latex(_patched(step.ntk, step, LATEX_NAMES))} \\")
    elif step.kind == "avg_pool":
        size = math.prod(step.window) ** 2
        out.append(rf"q_{{12}}'(p, p') &= \frac{{1}}{{{size}}} \sum_{{d, d'}} q_{{12}}(s p + d, s p' + d')"
                   rf" \quad \text{{({step.padding})}}\\")
    elif step.kind == "global_avg_pool":
        out.append(r"q_{12}' &= \frac{1}{P^2} \sum_{p, p'} q_{12}(p, p') \\")
    else:
        out.append(r"q_{12}' &= \frac{1}{P} \sum_{p} q_{12}(p, p) \\")
    return out


def spatial_dict(step: SpatialStep) -> dict:
    out = {"path": step.path, "kind": step.kind, "label": step.label}
    if step.kind in ("conv", "avg_pool"):
        out.update(window=list(step.window), stride=list(step.stride), padding=step.padding)
    if step.kind == "conv":
        out.update(nngp=str(_patched(step.nngp, step)), ntk=str(_patched(step.ntk, step)))
    return out
