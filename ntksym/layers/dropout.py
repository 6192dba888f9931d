"""`dropout`: training-time dropout, keeping each unit with probability `keep` and scaling it by 1/keep
(neural-tangents' `Dropout(rate=keep, mode='train')`).

Kernel: masks are independent across inputs and units, E[m m'] / keep^2 = 1 for different inputs (or
pixels) and 1/keep for the same one, so the covariance of an input with itself at the same position
grows by 1/keep and every other entry stays: q11' = q11 / keep, t11' = t11 / keep, q12' = q12,
t12' = t12 (on a spatial state: the same-input, same-pixel entries only).
Finite network: none. The kernel is the limit of a network that draws a new mask for every input at
every step, which a deterministic init/apply cannot be; `check` and the generated `init` say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ntksym.layers.base import LayerKind, Lowering
from ntksym.spec.fields import REQUIRED, Field
from ntksym.spec.schema import Number


@dataclass(frozen=True)
class Dropout:
    kind: ClassVar[str] = "dropout"
    keep: Number = 1.0
    path: str = field(default="", compare=False)


class DropoutKind(LayerKind):
    key = "dropout"
    doc = "training-time dropout (keep probability `keep`)"
    fields = {"keep": Field("real", REQUIRED, "probability of keeping a unit, 0 < keep <= 1",
                            minimum=0.0, exclusive_minimum=True, maximum=1.0)}

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        return Dropout(values["keep"], path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.state import q11, q12, t11, t12
        from ntksym.symbolic.steps import EntrywiseStep
        from ntksym.symbolic.values import to_sympy

        keep = to_sympy(layer.keep)
        return EntrywiseStep(layer.path, f"dropout(keep={layer.keep})", q12, t12, q11 / keep, t11 / keep,
                             kind=self.key)

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        from ntksym.errors import DerivationError

        raise DerivationError(
            f"{layer.path}: training-time dropout has no deterministic finite network (its kernel is the "
            "limit of a network that draws a new mask for every input); remove it to build the network")

    def describe(self, layer: Any, describe_body: Callable) -> str:
        return f"dropout({layer.keep})"


KIND = DropoutKind()
