"""Shapes through a spec with spatial layers: validation, and what the code generator needs to know.

The kernel state of a spatial network holds, per pair of inputs, the covariance of every pair of pixels
(mode "full", n1 n2 P^2 numbers) or, when no layer ever mixes pixel offsets (the only way out of the
spatial part is `flatten` and there is no pooling), just the pixel diagonal (mode "diagonal",
n1 n2 P numbers): a convolution's patch sum Sigma(p + d, p' + d) keeps the offset p - p', so the
diagonal p = p' never needs the rest (Novak et al. 2019, section 3.1; neural-tangents' `diagonal_spatial`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import sympy as sp

from ntksym.errors import DerivationError
from ntksym.layers import kind_of
from ntksym.layers.base import ShapeState, output_dims  # noqa: F401 (output_dims re-exported)
from ntksym.spec.schema import Spec
from ntksym.symbolic.steps import EntrywiseStep, SpatialStep, Step, iter_spatial

_AXES = {1: "width", 2: "height and width"}


@dataclass(frozen=True)
class SpatialPlan:
    mode: str  # "full" (pixel pairs) or "diagonal" (pixel diagonal only)
    input_dims: tuple[int, ...]  # spatial dimensions of the input: (width,) or (height, width)
    channels: int
    max_pixels: int  # the most pixels any layer's state has
    unrolled: frozenset[str]  # repeat blocks that change the spatial shape: unrolled, not a fori_loop

    @property
    def floats_per_pair(self) -> int:
        """Numbers held per pair of inputs and per kernel (NNGP or NTK) at the widest layer."""
        return self.max_pixels**2 if self.mode == "full" else self.max_pixels


def spatial_plan(spec: Spec, steps: tuple[Step, ...]) -> SpatialPlan | None:
    """None for a fully-connected spec; otherwise checks every spatial layer's shape (`DerivationError`)."""
    spatial = list(iter_spatial(steps))
    if not spatial:  # fully connected: the walk still checks the paths of `branches` layers
        size = None if spec.input_shape is None else sp.Integer(math.prod(spec.input_shape))
        _Walker(spec.parameterization == "standard").walk(steps, ShapeState(None, channels=size))
        return None
    shape = spec.input_shape
    if shape is None or len(shape) not in (2, 3):
        got = "no input_shape" if shape is None else f"input_shape {list(shape)}"
        raise DerivationError(
            f"{spatial[0].path}: `{spatial[0].kind}` needs spatial inputs, but the spec has {got}; give "
            "`input_shape: [width, channels]` (1-D) or `input_shape: [height, width, channels]` (2-D)")
    walker = _Walker(spec.parameterization == "standard")
    state = walker.walk(steps, ShapeState(tuple(shape[:-1]), channels=sp.Integer(shape[-1])))
    if state.dims is not None:
        raise DerivationError(
            f"{spec.layers[-1].path}: the network ends on a spatial state "
            f"({_shape_text(state.dims)} pixels); add `global_avg_pool` or `flatten` before the readout "
            "dense layer")
    mode = "full" if any(kind_of(step).mixes_pixels for step in spatial) else "diagonal"
    return SpatialPlan(mode, tuple(shape[:-1]), shape[-1], walker.max_pixels, frozenset(walker.unrolled))


def _shape_text(dims: tuple[int, ...]) -> str:
    return " x ".join(map(str, dims))


class _Walker:
    def __init__(self, standard: bool):
        self.standard = standard
        self.max_pixels = 0
        self.unrolled: set[str] = set()

    def walk(self, steps: tuple[Step, ...], state: ShapeState) -> ShapeState:
        for step in steps:
            if state.dims is not None:
                self.max_pixels = max(self.max_pixels, math.prod(state.dims))
            state = self.step(step, state)
        return state

    def step(self, step: Step, state: ShapeState) -> ShapeState:
        kind = kind_of(step)
        if kind.combinator:
            return kind.walk_shape(step, state, self)
        assert isinstance(step, (EntrywiseStep, SpatialStep))  # only combinators make the other steps
        if not kind.on_pixels:  # entrywise: dense, activation, layer_norm, dropout
            if kind.has_weights:
                self.need_fan_in(step.path, state)
                return ShapeState(state.dims, step.width is not None, step.width)
            if state.merged and kind.gaussian_input:
                raise DerivationError(
                    f"{step.path}: `{step.kind}` right after the merge at {state.merged}: its kernel rule needs "
                    "Gaussian inputs with one covariance, which a concat (paths of different covariances) or prod "
                    "(a product of Gaussians) does not give; put a dense / conv layer before it (after a concat, "
                    "moving it into every path is the same network)")
            return state
        if state.dims is None:
            raise DerivationError(
                f"{step.path}: `{step.kind}` needs a spatial state, but an earlier flatten or global pool "
                "has already made it fully connected; move the layer before it")
        assert isinstance(step, SpatialStep)  # every kind on pixels makes one
        if step.window:
            self.check_window(step, state.dims)
        kind.check_shape(step, state.dims)
        dims = kind.spatial_shape(step, state.dims)
        if kind.has_weights:
            self.need_fan_in(step.path, state)
            return ShapeState(dims, step.width is not None, step.width)
        width = getattr(step, "width", None)  # attention sets the next fan-in without weights of its own
        if width is not None:
            return dataclasses.replace(state, dims=dims, fan_known=True, channels=width)
        channels = state.channels
        if step.kind == "flatten" and channels is not None:  # the flattened width: pixels * channels
            channels = channels * math.prod(state.dims)
        return dataclasses.replace(state, dims=dims, channels=channels)

    def check_window(self, step: SpatialStep, dims: tuple[int, ...]) -> None:
        name = "filter" if kind_of(step).has_weights else "window"
        if len(step.window) != len(dims):
            example = [step.window[0]] * len(dims)
            raise DerivationError(
                f"{step.path}: {name} {list(step.window)} has {len(step.window)} entries but the state has "
                f"{len(dims)} spatial axes ({_AXES[len(dims)]}); write `{name}: {example}`")
        if len(step.stride) != len(dims):
            raise DerivationError(f"{step.path}: stride {list(step.stride)} needs {len(dims)} entries, "
                                  f"one per spatial axis ({_AXES[len(dims)]})")
        if step.padding == "VALID" and any(k > n for k, n in zip(step.window, dims, strict=True)):
            raise DerivationError(
                f"{step.path}: {name} {list(step.window)} is larger than the {_shape_text(dims)} image it "
                "sees with padding VALID; use a smaller one or padding SAME")

    def need_fan_in(self, path: str, state: ShapeState) -> None:
        if self.standard and not state.fan_known:
            raise DerivationError(
                f"{path}: the standard parameterization's NTK depends on the fan-in, but the layer before "
                "it has no `width` (dense) or `channels` (conv); give every hidden dense layer a width and "
                "every conv its channels")

    @staticmethod
    def describe(state: ShapeState) -> str:
        return "fully connected" if state.dims is None else f"{_shape_text(state.dims)} pixels"
