"""`repeat`: a block of layers applied `count` times, derived once.

Kernel code: a `lax.fori_loop` over the block (compile time does not grow with depth), unrolled only
where the block changes the spatial shape. Finite network: fresh weights per repetition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sympy as sp

from ntksym.layers.base import LayerKind, Lowering, ShapeState, ShapeWalker
from ntksym.spec import schema as s
from ntksym.spec.fields import REQUIRED, Field


class RepeatKind(LayerKind):
    key = "repeat"
    doc = "a block of layers repeated `repeat` times (`- repeat: 8` with a sibling `layers:` list)"
    fields = {"repeat": Field("count", REQUIRED, "how many times"), "layers": Field("layers")}
    combinator = True

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return s.Repeat(count=values["repeat"], layers=values["layers"], path=where)

    def children(self, layer: Any) -> tuple:
        return layer.layers

    def replace_children(self, layer: Any, children: tuple) -> Any:
        return dataclasses.replace(layer, layers=tuple(children))

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.steps import RepeatStep
        from ntksym.symbolic.values import to_sympy

        return RepeatStep(layer.path, to_sympy(layer.count), derive_body(layer.layers), layer.rolled)

    def walk_shape(self, step: Any, state: ShapeState, walker: ShapeWalker) -> ShapeState:
        """The block once; the shape it leaves must be the one it starts from, unless the count is a
        whole number (then the block is unrolled)."""
        from ntksym.errors import DerivationError

        once = walker.walk(step.body, state)
        if once.dims == state.dims:
            return walker.walk(step.body, once)  # a second pass checks the fan-in the block hands itself
        if not isinstance(step.count, sp.Integer):
            raise DerivationError(
                f"{step.path}: the block changes the spatial shape from {walker.describe(state)} to "
                f"{walker.describe(once)}, so its repeat count must be a whole number, not the hyperparameter "
                f"`{step.count}`")
        walker.unrolled.add(step.path)
        for _ in range(int(step.count) - 1):
            once = walker.walk(step.body, once)
        return once

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        from ntksym.codegen.text import comment_text

        k = writer.new_index()
        if step.path in writer.unrolled:  # a block that changes the shape cannot be a fori_loop's body
            count: int | str = int(step.count)
            lines = [f"{indent}# {comment_text(step.path)}: repeat {count} times (the shape changes: unrolled)",
                     f"{indent}def _block_{k}(_, s):"]
            lines.extend(writer.steps(step.body, indent + "    "))
            return lines + [f"{indent}    return s", f"{indent}for _i in range({count}):",
                            f"{indent}    s = _block_{k}(_i, s)"]
        lines = [f"{indent}# {comment_text(step.path)}: repeat {comment_text(str(step.count))} times",
                 f"{indent}def _block_{k}(_, s):"]
        lines.extend(writer.steps(step.body, indent + "    "))
        lines.append(f"{indent}    return s")
        count = writer.value(step.count)
        if isinstance(step.count, sp.Symbol):
            count = f"jnp.asarray({count}).astype(jnp.int32)"
        return lines + [f"{indent}s = lax.fori_loop(0, {count}, _block_{k}, s)"]

    def report_text(self, step, lines, indent, body):
        rolled = "; rolled from identical consecutive blocks written out in the spec" if step.rolled else ""
        lines.append(f"{indent}{step.path}: repeat {step.count} times (derived once{rolled}):")
        body(step.body, indent + "  ")

    def report_latex(self, step, out, body):
        out.append(rf"&\text{{repeat }} {sp.latex(step.count)} \text{{ times:}}\\")
        body(step.body)
        out.append(r"&\text{end repeat}\\")

    def summary(self, step):
        return {"count": str(step.count)}

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        return ("repeat", lower.count(layer.count, f"{layer.path}.repeat"), lower(layer.layers))

    def describe(self, layer: Any, describe_body: Callable) -> str:
        return f"{layer.count} x [{describe_body(layer.layers)}]"

    def weights(self, layer: Any, width: int, weights_body: Callable) -> int:
        return (layer.count if isinstance(layer.count, int) else 1) * weights_body(layer.layers)


KIND = RepeatKind()
