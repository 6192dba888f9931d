"""Code generation for specs with convolutions and pooling: the pixel-covariance state.

The fully-connected writer (`emit.ModuleWriter`) is reused: entrywise steps become the same `_cross_k` /
`_diag_k` functions, applied to every pixel pair (`_entrywise_full`) or, in diagonal mode, through the
broadcasting `_entrywise` itself. Conv steps become a patch average (a convolution with an identity
filter, or a `reduce_window` box sum in diagonal mode) followed by a generated affine function; pooling
and flatten become calls into prelude_spatial.py. After flatten / global_avg_pool the state is
fully connected again and the ordinary `_entrywise` takes over.
"""

from __future__ import annotations

import sympy as sp

from ntksym.codegen.emit import ModuleWriter, comment_text, prelude_source
from ntksym.errors import CodegenError
from ntksym.symbolic.derivation import Derivation
from ntksym.symbolic.spatial_plan import spatial_plan
from ntksym.symbolic.state import fan_in, q12, t12
from ntksym.symbolic.steps import EntrywiseStep, RepeatStep, SpatialStep, Step, iter_spatial

AFFINE_ARGS = (q12, t12, fan_in)


def has_spatial_steps(derivation: Derivation) -> bool:
    return next(iter_spatial(derivation.steps), None) is not None


class SpatialModuleWriter(ModuleWriter):
    def __init__(self, derivation: Derivation, dtype: str):
        super().__init__(derivation, dtype)
        plan = spatial_plan(derivation.spec, derivation.steps)
        if plan is None:
            raise CodegenError("SpatialModuleWriter needs a spec with spatial layers")
        self.plan = plan
        self.full = plan.mode == "full"
        self.spatial_now = True  # until a flatten or global_avg_pool

    inputs_call = property(lambda self: f"_spatial_inputs(x1, x2, full={self.full})")

    def floats_per_pair(self) -> int:
        return self.plan.floats_per_pair

    def extra_preludes(self) -> list[str]:
        mode = f"# the spatial state's layout (prelude_spatial.py)\nSPATIAL_MODE = {self.plan.mode!r}"
        return [mode, prelude_source("prelude_spatial.py")]

    def steps(self, steps: tuple[Step, ...], indent: str) -> list[str]:
        out: list[str] = []
        for step in steps:
            if isinstance(step, SpatialStep):
                out.extend(self.spatial_lines(step, indent))
            elif isinstance(step, EntrywiseStep) and self.spatial_now and self.full:
                out.append(self.entrywise_line(step, indent, helper="_entrywise_full"))
            elif isinstance(step, RepeatStep) and step.path in self.plan.unrolled:
                out.extend(self.unrolled_repeat(step, indent))
            else:
                out.extend(super().steps((step,), indent))
        return out

    def unrolled_repeat(self, step: RepeatStep, indent: str) -> list[str]:
        """A block that changes the spatial shape cannot be a fori_loop's body: trace it count times."""
        k = self.counter
        self.counter += 1
        count = int(step.count)
        lines = [f"{indent}# {comment_text(step.path)}: repeat {count} times (the shape changes: unrolled)",
                 f"{indent}def _block_{k}(_, s):"]
        lines.extend(self.steps(step.body, indent + "    "))
        lines += [f"{indent}    return s", f"{indent}for _i in range({count}):",
                  f"{indent}    s = _block_{k}(_i, s)"]
        return lines

    def spatial_lines(self, step: SpatialStep, indent: str) -> list[str]:
        doc = comment_text(f"{step.path}: {step.label}", 70)
        window, stride = tuple(step.window), tuple(step.stride)
        if step.kind == "conv":
            k = self.counter
            self.counter += 1
            self.function(f"_affine_{k}", AFFINE_ARGS, [step.nngp, step.ntk],
                          f"{step.path}: {step.label}, after the patch average")
            width = "" if step.width is None else f", width={self.value(step.width)}"
            return [f"{indent}s = _conv(s, _affine_{k}, hp, {self.full}, {window!r}, {stride!r}, "
                    f"{step.padding!r}{width})  # {doc}"]
        if step.kind == "avg_pool":
            return [f"{indent}s = _avg_pool(s, {window!r}, {stride!r}, {step.padding!r})  # {doc}"]
        self.spatial_now = False
        if step.kind == "global_avg_pool":
            return [f"{indent}s = _global_avg_pool(s)  # {doc}"]
        if step.kind == "flatten":
            return [f"{indent}s = _flatten(s, {self.full})  # {doc}"]
        raise CodegenError(f"no code generation for the spatial step kind {step.kind!r}")

    def all_expressions(self):
        yield from super().all_expressions()
        for step in iter_spatial(self.d.steps):
            yield from (e for e in (step.nngp, step.ntk) if isinstance(e, sp.Expr))
