"""Text, LaTeX and JSON of the spatial steps: the header here, each kind's lines from its module (ntksym/layers).

On a spatial state q12 stands for the covariance q12(p, p') of pixel p of x and pixel p' of x'; the
entrywise layers act on each pixel pair, with q11 = q11(p, p) and q22 = q22(p', p') from the diagonals.
"""

from __future__ import annotations

from collections.abc import Callable

from ntksym.layers import kind_of
from ntksym.symbolic.steps import SpatialStep

HEADER = [
    "Spatial state: q12 = q12(p, p'), the covariance of pixel p of x and pixel p' of x' (channel mean);",
    "       dense, activation and layer_norm act on each pixel pair with q11 = q11(p, p), q22 = q22(p', p').",
    "input: q12(p, p') = <x(p), x'(p')> / C (C channels),  t12 = 0",
]


def spatial_text(step: SpatialStep, indent: str) -> list[str]:
    return [f"{indent}{step.path}: {step.label}", *kind_of(step).text(step, indent)]


LATEX_INPUT = r"q_{12}(p, p') &= \langle x(p), x'(p') \rangle / C, \quad t_{12} = 0 \\"


def spatial_latex(step: SpatialStep, text: Callable[[str], str]) -> list[str]:
    """`text` escapes plain text (the kinds print expressions with readable.latex_expression)."""
    return [rf"&\text{{{text(step.path)}: {text(step.label)}}}\\", *kind_of(step).latex(step)]


def spatial_dict(step: SpatialStep) -> dict:
    return {"path": step.path, "kind": step.kind, "label": step.label, **kind_of(step).summary(step)}
