"""`conv`: a convolution over the spatial axes (the kernel rule: symbolic/rules/conv.py).

Kernel: a patch average A of the pixel-pair covariances, then a dense layer's affine map with
fan_in = channels * filter size (Novak et al. 2019; Arora et al. 2019).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ntksym.layers.base import PADDING_TEXT, LayerKind, Lowering, output_dims, window_text
from ntksym.spec import schema as s
from ntksym.spec.fields import B_STD, REQUIRED, W_STD, Field

DEFAULT_CHANNELS = 512


class ConvKind(LayerKind):
    key = "conv"
    doc = "convolution over the spatial axes"
    fields = {
        "filter": Field("shape", REQUIRED, "[k] or [kh, kw]"),
        "stride": Field("shape", None, "default 1"),
        "padding": Field("padding", "SAME"),
        "w_std": W_STD,
        "b_std": B_STD,
        "channels": Field("count", None, "finite network's channels"),
    }
    on_pixels = has_weights = True
    depth_analysed = True
    layer_class = s.Conv  # conv_transpose and conv_local subclass this kind with their own dataclass
    helper = "_conv"  # the prelude function the emitted line calls

    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        stride = values["stride"] or (1,) * len(values["filter"])
        if len(stride) == 1 and len(values["filter"]) == 2:
            stride = stride * 2
        if len(stride) != len(values["filter"]):
            raise error("stride", "stride must have as many entries as filter")
        return self.layer_class(values["filter"], stride, values["padding"], values["w_std"], values["b_std"],
                                values["channels"], path=where)

    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        from ntksym.symbolic.rules.conv import conv_step

        return conv_step(layer, parameterization)

    def spatial_shape(self, step: Any, dims: tuple[int, ...]) -> tuple[int, ...] | None:
        return output_dims(dims, step.window, step.stride, step.padding)

    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """Translation-invariant inputs (every pixel the same variance q, every pixel pair of the two
        inputs the same covariance k): the patch average of a constant covariance is that constant, so a
        conv acts on the pixel diagonal as a dense layer with its w_std, b_std (Xiao et al. 2018,
        "Dynamical isometry and a mean field theory of CNNs"). Only `conv` (stride and padding change
        nothing away from the boundary); conv_transpose and conv_local are not analysed."""
        import sympy as sp

        from ntksym.depth.maps import entrywise_map
        from ntksym.symbolic.state import q11, q12

        return entrywise_map(step.nngp, step.nngp.subs(q12, q11), sp.diff(step.nngp, q12), ctx)

    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        from ntksym.symbolic.state import fan_in, q12, t12

        k = writer.new_index()
        writer.function(f"_affine_{k}", (q12, t12, fan_in), [step.nngp, step.ntk],
                        f"{step.path}: {step.label}, after the patch average")
        width = "" if step.width is None else f", width={writer.value(step.width)}"
        return [f"{indent}s = {self.helper}(s, _affine_{k}, hp, {writer.full}, {tuple(step.window)!r}, "
                f"{tuple(step.stride)!r}, {step.padding!r}{width})  # {writer.comment(step)}"]

    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        channels = DEFAULT_CHANNELS if layer.channels is None else lower.count(layer.channels, f"{layer.path}.channels")
        b_std = None if layer.b_std is None else lower.number(layer.b_std)
        return (self.key, lower.number(layer.w_std), b_std, channels, tuple(layer.filter), tuple(layer.stride),
                layer.padding)

    def weights(self, layer: Any, width: int, weights_body: Callable) -> int:
        return width * width * math.prod(layer.filter)

    def with_width(self, layer: Any, width: int, is_output: bool) -> Any:
        return dataclasses.replace(layer, channels=int(width))

    def text(self, step: Any, indent: str) -> list[str]:
        size = math.prod(step.window)
        lines = [f"{indent}    A[K](p, p') = 1/{size} sum_(d in {window_text(step.window)}) "
                 f"K(s p + d, s p' + d), s = {list(step.stride)}, {PADDING_TEXT[step.padding]}",
                 f"{indent}    q12' = {_patched(step.nngp, step)}"]
        from ntksym.symbolic.state import fan_in

        lines.append(f"{indent}    t12' = {_patched(step.ntk, step)}"
                     + ("   (C = input channels)" if step.ntk.has(fan_in) else ""))
        return lines

    def latex(self, step: Any) -> list[str]:
        from ntksym.reports.readable import latex_expression

        size = math.prod(step.window)
        avg = rf"\frac{{1}}{{{size}}} \sum_{{d}} K(s p + d, s p' + d)"
        names = ("A[q_{12}]", "A[t_{12}]")
        return [rf"A[K](p, p') &= {avg} \quad \text{{({step.padding}, $s = {list(step.stride)}$)}}\\",
                rf"q_{{12}}' &= {latex_expression(_patched(step.nngp, step, names))} \\",
                rf"t_{{12}}' &= {latex_expression(_patched(step.ntk, step, names))} \\"]

    def summary(self, step: Any) -> dict:
        return {"window": list(step.window), "stride": list(step.stride), "padding": step.padding,
                "nngp": str(_patched(step.nngp, step)), "ntk": str(_patched(step.ntk, step))}


def _patched(expr, step, names=("A[q12]", "A[t12]")):
    """The affine map written on the patch averages A[q12], A[t12]; fan_in = C * filter size."""
    import sympy as sp

    from ntksym.symbolic.state import fan_in, q12, t12

    q, t = (sp.Symbol(name) for name in names)
    return expr.subs({q12: q, t12: t, fan_in: sp.Symbol("C") * math.prod(step.window)})


KIND = ConvKind()
