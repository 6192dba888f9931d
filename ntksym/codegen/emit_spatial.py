"""Code generation for specs with convolutions and pooling: the pixel-covariance state.

The fully-connected writer (`writer.ModuleWriter`) is reused: entrywise steps become the same `_cross_k` /
`_diag_k` functions, applied to every pixel pair (`_entrywise_full`) or, in diagonal mode, through the
broadcasting `_entrywise` itself. Each spatial kind writes its own line (ntksym/layers: conv a patch
average and a generated affine function, pools and flatten calls into preludes/spatial.py). After a
kind that ends the spatial part (flatten, the global pools) the ordinary `_entrywise` takes over.
"""

from __future__ import annotations

from collections.abc import Iterator

import sympy as sp

from ntksym.codegen.text import prelude_source
from ntksym.codegen.writer import LOOP_EMITTERS, ModuleWriter
from ntksym.errors import CodegenError
from ntksym.layers import kind_of
from ntksym.symbolic.derivation import Recursion
from ntksym.symbolic.spatial_plan import spatial_plan
from ntksym.symbolic.steps import EntrywiseStep, Step, iter_spatial


def has_spatial_steps(derivation: Recursion) -> bool:
    return next(iter_spatial(derivation.steps), None) is not None


class SpatialModuleWriter(ModuleWriter):
    def __init__(self, derivation: Recursion, dtype: str):
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

    def xla_options(self, uses_quadrature: bool) -> dict[str, bool]:
        """XLA's loop emitters: spatial kernels compile about twice as fast with them and run faster."""
        return dict(LOOP_EMITTERS)

    def extra_preludes(self) -> list[str]:
        mode = f"# the spatial state's layout (preludes/spatial.py)\nSPATIAL_MODE = {self.plan.mode!r}"
        return [mode, prelude_source("spatial")]

    @property
    def unrolled(self) -> frozenset[str]:
        return self.plan.unrolled

    def steps(self, steps: tuple[Step, ...], indent: str) -> list[str]:
        out: list[str] = []
        for step in steps:
            out.extend(super().steps((step,), indent))
            if kind_of(step).ends_spatial:
                self.spatial_now = False
        return out

    def entrywise_line(self, step: EntrywiseStep, indent: str, helper: str = "_entrywise") -> str:
        """On a full-mode spatial state, an entrywise layer acts on every pixel pair."""
        if self.spatial_now and self.full:
            helper = "_entrywise_full"
        return super().entrywise_line(step, indent, helper)

    def all_expressions(self) -> Iterator[sp.Expr]:
        yield from super().all_expressions()
        for step in iter_spatial(self.d.steps):
            yield from (e for e in (step.nngp, step.ntk) if isinstance(e, sp.Expr))
