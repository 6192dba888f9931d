"""A derivation as text, LaTeX and JSON-ready data (display forms: reports/readable.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ntksym.layers import kind_of
from ntksym.reports.depth import depth_dict, depth_latex, depth_text
from ntksym.reports.readable import latex_expression, latex_text, readable
from ntksym.reports.spatial import HEADER, LATEX_INPUT, spatial_dict, spatial_latex, spatial_text
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.steps import EntrywiseStep, SpatialStep, Step, iter_spatial

if TYPE_CHECKING:
    from ntksym.symbolic.derivation import Recursion


def _method(dual: Dual | None) -> str:
    if dual is None:
        return ""
    text = dual.method + (f": {dual.source}" if dual.source else "")
    return text + (f"; relative error <= {dual.error:.0e}" if dual.error else "")


def derivation_text(d: Recursion) -> str:
    spec = d.spec
    lines = [f"Derivation of `{spec.name}` ({spec.parameterization} parameterization)"]
    if spec.description:
        lines.append(f"  {spec.description}")
    lines += [
        "State: q11 = Sigma(x,x), q22 = Sigma(x',x'), q12 = Sigma(x,x') (NNGP); t12 = Theta(x,x') (NTK);",
        "       theta = arccos(q12 / sqrt(q11 q22)); primes mark a layer's output.",
        "input: q12 = <x, x'> / d,  t12 = 0" + (",  fan_in = d" if spec.parameterization == "standard" else ""),
    ]
    if next(iter_spatial(d.steps), None) is not None:
        lines[-1:] = HEADER
    _steps_text(d.steps, lines, indent="")
    if d.hyperparameters:
        lines.append("hyperparameters: " + ", ".join(f"{k} = {v:g}" for k, v in d.hyperparameters.items()))
    lines += depth_text(d)
    return "\n".join(lines)


def _steps_text(steps: tuple[Step, ...], lines: list[str], indent: str) -> None:
    for step in steps:
        kind = kind_of(step)
        if kind.combinator:
            def body(children, inner: str) -> None:
                _steps_text(children, lines, inner)

            kind.report_text(step, lines, indent, body)
        elif isinstance(step, SpatialStep):
            lines.extend(spatial_text(step, indent))
        else:
            assert isinstance(step, EntrywiseStep)
            method = _method(step.dual)
            lines.append(f"{indent}{step.path}: {step.label}" + (f"  [{method}]" if method else ""))
            lines.append(f"{indent}    q12' = {readable(step.nngp)}")
            lines.append(f"{indent}    t12' = {readable(step.ntk)}")
            lines.append(f"{indent}    diagonal: q11' = {step.nngp_diag},  t11' = {step.ntk_diag}")


def derivation_latex(d: Recursion) -> str:
    spec = d.spec
    out = [r"\begin{align*}", rf"&\text{{{latex_text(spec.name)} ({spec.parameterization} parameterization)}}\\",
           r"q_{12} &= \langle x, x' \rangle / d, \quad t_{12} = 0 \\"]
    if next(iter_spatial(d.steps), None) is not None:
        out[-1] = LATEX_INPUT
    _steps_latex(d.steps, out)
    out += depth_latex(d)
    out.append(r"\end{align*}")
    return "\n".join(out)


def _steps_latex(steps: tuple[Step, ...], out: list[str]) -> None:
    for step in steps:
        kind = kind_of(step)
        if kind.combinator:
            kind.report_latex(step, out, lambda children: _steps_latex(children, out))
        elif isinstance(step, SpatialStep):
            out.extend(spatial_latex(step, latex_text))
        else:
            assert isinstance(step, EntrywiseStep)
            method = f" [{step.dual.method}]" if step.dual is not None else ""  # how the dual was obtained
            out.append(rf"&\text{{{latex_text(step.path)}: {latex_text(step.label + method)}}}\\")
            out.append(rf"q_{{12}}' &= {latex_expression(step.nngp)} \\")
            out.append(rf"t_{{12}}' &= {latex_expression(step.ntk)} \\")


def derivation_dict(d: Recursion) -> dict:
    spec = d.spec
    return {
        "name": spec.name,
        "parameterization": spec.parameterization,
        "sha256": spec.sha256,
        "hyperparameters": d.hyperparameters,
        "input": {"nngp": "<x, x'> / d", "ntk": "0"},
        "steps": [_step_dict(step) for step in d.steps],
        **depth_dict(d),
    }


def _step_dict(step: Step) -> dict:
    kind = kind_of(step)
    if kind.combinator:
        assert not isinstance(step, (EntrywiseStep, SpatialStep))
        return {"path": step.path, "kind": step.kind, **kind.summary(step),
                "body": [_step_dict(child) for child in step.body]}
    if isinstance(step, SpatialStep):
        return spatial_dict(step)
    assert isinstance(step, EntrywiseStep)
    out: dict[str, Any] = {"path": step.path, "kind": step.kind, "label": step.label,
           "nngp": str(readable(step.nngp)), "ntk": str(readable(step.ntk)),
           "nngp_diag": str(step.nngp_diag), "ntk_diag": str(step.ntk_diag)}
    if step.dual is not None:
        out.update(method=step.dual.method, source=step.dual.source, error=step.dual.error)
    return out
