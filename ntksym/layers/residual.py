"""`residual`: y = x + scale * block(x). The two branches are independent, so the kernels add, the
block's scaled by scale^2 (preludes/kernel.py's `_residual_sum`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ntksym.layers.base import LayerKind, Lowering, ShapeState, ShapeWalker
from ntksym.spec import schema as s
from ntksym.spec.fields import Field


class ResidualKind(LayerKind):
    key = "residual"
    doc = "y = x + scale * block(x)"
    fields = {"layers": Field("layers"), "scale": Field("real", 1.0, "y = x + scale * block(x)")}
    combinator = True
    depth_analysed = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.Residual(values["layers"], values["scale"], path=where)

    def children(self, layer: Any) -> tuple:
        return layer.layers

    def replace_children(self, layer: Any, children: tuple) -> Any:
        return dataclasses.replace(layer, layers=tuple(children))

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.steps import ResidualStep
        from ntksym.symbolic.values import to_sympy

        return ResidualStep(layer.path, to_sympy(layer.scale), derive_body(layer.layers))

    def walk_shape(self, step: Any, state: ShapeState, walker: ShapeWalker) -> ShapeState:
        from ntksym.errors import DerivationError

        out = walker.walk(step.body, state)
        if out.dims != state.dims:
            raise DerivationError(
                f"{step.path}: the residual block changes the state from {walker.describe(state)} to "
                f"{walker.describe(out)}, so x + block(x) is undefined; keep the shape inside residual "
                "blocks (conv with padding SAME and stride 1, no pooling)")
        return dataclasses.replace(out, merged=out.merged or state.merged)  # x + block(x) keeps x's mixture

    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """q' = q + scale^2 q_block, k' = k + scale^2 k_block, slope 1 + scale^2 slope_block (Yang &
        Schoenholz 2017, "Mean field residual networks"); None where the block holds a kind not analysed."""
        from ntksym.depth.maps import ResidualMap, number

        scale = number(step.scale, ctx, f"{step.path}.scale")
        return ResidualMap(body(step.body), scale * scale)

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        from ntksym.codegen.text import comment_text

        skip = f"_skip_{writer.new_index()}"  # one name per block: a nested residual block keeps its own
        lines = [f"{indent}{skip} = s  # {comment_text(step.path)}: residual block"]
        lines.extend(writer.steps(step.body, indent))
        return lines + [f"{indent}s = _residual_sum({skip}, s, {writer.value(step.scale)})"]

    def report_text(self, step, lines, indent, body):
        lines.append(f"{indent}{step.path}: residual, y = x + {step.scale} * block(x); kernels add:")
        body(step.body, indent + "  ")
        c = step.scale**2
        lines.append(f"{indent}  q12' = q12_skip + {c} * q12_block,  t12' = t12_skip + {c} * t12_block")

    def report_latex(self, step, out, body):
        import sympy as sp

        out.append(rf"&\text{{residual block, scale }} {sp.latex(step.scale)}:\\")
        body(step.body)
        out.append(rf"q_{{12}}' &= q_{{12}}^{{\mathrm{{skip}}}} + {sp.latex(step.scale**2)}\, q_{{12}}^{{\mathrm{{block}}}}\\")

    def summary(self, step):
        return {"scale": str(step.scale)}

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        return ("residual", lower.number(layer.scale), lower(layer.layers))

    def describe(self, layer: Any, describe_body: Callable) -> str:
        return f"residual[{describe_body(layer.layers)}]"

    def weights(self, layer: Any, width: int, weights_body: Callable) -> int:
        return weights_body(layer.layers)


KIND = ResidualKind()
