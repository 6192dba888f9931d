"""What a layer kind is: everything ntksym knows about one YAML layer key, in one object.

Each module of `ntksym.layers` defines one `LayerKind` and `ntksym.layers.LAYERS` maps the YAML key to
it. The stages ask that object instead of testing types:

  spec      `fields` (validated by spec/load.py), `build(values, where)` -> the layer's frozen dataclass
  symbolic  `derive(layer, parameterization, derive_body)` -> a Step; for layers on pixels,
            `spatial_shape(step, dims)` -> the output's spatial dims (None: fully connected from here)
  codegen   `emit(step, writer, indent)` -> lines of the generated `_propagate`; `kernel_helpers`:
            source of the functions those lines call, added once to the module
  network   `record(layer, hp, lower)` -> the finite network's record (codegen/architecture.py);
            `network_functions`: (shape, apply) functions for parameterless layers, copied into
            generated modules and registered with the finite-network interpreter; `network_weights`:
            (params, apply) functions of a kind with weights (conv_transpose, conv_local)
  depth     `mean_field(step, ctx, body)` -> the step's mean-field map for the depth analysis
            (depth/maps.py); None: a block holding the kind is not analysed
  reports   `describe(layer)` for `validate`, `weights(layer, width)` for `check`'s size estimate,
            `text` / `latex` / `summary` of a spatial step for `derive`

Later stages are imported inside the methods: loading the registry (spec/load.py does) pulls in
nothing but the spec's own modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ntksym.spec.fields import Field


@dataclass
class ShapeState:
    """What the shape walk (symbolic/spatial_plan.py) knows after a layer: a combinator's `walk_shape`
    gets and returns it."""

    dims: tuple[int, ...] | None  # None: fully connected
    fan_known: bool = True
    channels: Any = None  # the channel count (SymPy) where the spec fixes it, else None
    merged: str = ""  # a concat / prod merge whose output is no single Gaussian process: until a weight layer


class ShapeWalker(Protocol):
    """The shape walk as a combinator's `walk_shape` sees it (symbolic/spatial_plan.py implements it)."""

    unrolled: set[str]  # repeat blocks that change the shape: unrolled, not looped

    def walk(self, steps: tuple, state: ShapeState) -> ShapeState: ...

    def describe(self, state: ShapeState) -> str: ...


class Lowering(Protocol):
    """What a kind's `record` gets (codegen/architecture.py implements it): `lower(children)` for
    combinators, numbers resolved from the hyperparameters, the output layer, activation indices."""

    hp: dict[str, float]
    output: Any

    def __call__(self, layers: tuple) -> tuple: ...

    def number(self, value: Any) -> float: ...

    def count(self, value: Any, what: str) -> int: ...

    def activation(self, layer: Any) -> int: ...


class LayerKind:
    """Defaults fit a parameterless, entrywise layer; each kind overrides what it has."""

    key: ClassVar[str] = ""
    doc: ClassVar[str] = ""  # one line for the docs table and `validate`
    fields: ClassVar[dict[str, Field]] = {}
    combinator: ClassVar[bool] = False  # repeat, residual, branches: holds child layers (`children`)
    on_pixels: ClassVar[bool] = False  # needs a spatial state (conv, pools, flatten)
    mixes_pixels: ClassVar[bool] = False  # needs every pixel pair, not only the pixel diagonal
    ends_spatial: ClassVar[bool] = False  # the state is fully connected afterwards
    has_weights: ClassVar[bool] = False  # dense, conv: needs its fan-in, sets the next one
    gaussian_input: ClassVar[bool] = False  # activations: the kernel rule needs Gaussian inputs of one covariance
    kernel_helpers: ClassVar[str] = ""
    depth_analysed: ClassVar[bool] = False  # has a `mean_field` map: a repeated block holding it is analysed
    registry: ClassVar[Any] = None  # every kind by key (set by ntksym.layers): combinators look up their children's
    network_functions: ClassVar[tuple[Callable, ...]] = ()
    # (params_fn(shape, rec, width, stack) -> (param tree, shape), apply_fn(p, h, rec, parameterization)) of a
    # kind with weights interpreted outside preludes/network.py's dense/conv code (attention, conv_transpose, ...)
    network_weights: ClassVar[tuple[Callable, ...]] = ()

    # -- spec ---------------------------------------------------------------------------------
    def build(self, values: dict[str, Any], where: str, error: Callable[[str, str], Exception]) -> Any:
        """The layer's dataclass from its validated fields; `error(field, message)` makes a SpecError."""
        raise NotImplementedError(f"layer kind {self.key!r} does not build from fields")

    def children(self, layer: Any) -> tuple:
        return ()

    def replace_children(self, layer: Any, children: tuple) -> Any:
        """A combinator's layer with `children` in place of its own."""
        raise NotImplementedError(f"layer kind {self.key!r} holds no child layers")

    # -- symbolic -------------------------------------------------------------------------------
    def derive(self, layer: Any, parameterization: str, derive_body: Callable) -> Any:
        raise NotImplementedError(f"no kernel rule for {self.key!r}")

    def spatial_shape(self, step: Any, dims: tuple[int, ...]) -> tuple[int, ...] | None:
        return dims

    def check_shape(self, step: Any, dims: tuple[int, ...]) -> None:
        """Raise DerivationError (one line: the key and the fix) when the layer cannot act on `dims`."""

    def walk_shape(self, step: Any, state: ShapeState, walker: ShapeWalker) -> ShapeState:
        """A combinator's step: the shape its body leaves (symbolic/spatial_plan.py walks the rest)."""
        raise NotImplementedError(f"layer kind {self.key!r} holds no child layers")

    # -- depth analysis -----------------------------------------------------------------------------
    def mean_field(self, step: Any, ctx: Any, body: Callable) -> Any:
        """The step's map (q, k) -> (q', k', dk'/dk) of one input pair at equal variances, for the depth
        analysis of a repeated block (depth/maps.py; `body(children)` maps a combinator's
        children). Kinds that give one set `depth_analysed`; None: not analysed (the default)."""
        return None

    # -- codegen --------------------------------------------------------------------------------
    def emit(self, step: Any, writer: Any, indent: str) -> list[str]:
        """An entrywise step: the writer's `_entrywise` call (on every pixel pair in full mode)."""
        return [writer.entrywise_line(step, indent)]

    # -- finite network ---------------------------------------------------------------------------
    def record(self, layer: Any, hp: dict[str, float], lower: Lowering) -> tuple:
        return (self.key,)

    def kernel_depends_on_widths(self, layer: Any) -> bool:
        """True where the kernel depends on the widths in any parameterization (concat weighs paths by
        channels): `check` then derives it again at each width it sets."""
        return False

    def with_width(self, layer: Any, width: int, is_output: bool) -> Any:
        """The layer with its finite width (dense) or channels (conv) set, for `check`'s width sweeps."""
        return layer

    # -- reports ----------------------------------------------------------------------------------
    def describe(self, layer: Any, describe_body: Callable) -> str:
        """`validate`'s short text; `describe_body(children)` describes a combinator's layers."""
        return self.key

    def weights(self, layer: Any, width: int, weights_body: Callable) -> int:
        """Weights at `width`, for `check`'s memory estimate; `weights_body(children)` counts children's."""
        return 0

    def text(self, step: Any, indent: str) -> list[str]:
        """Lines of `derive`'s text report for a spatial step (below its `path: label` line)."""
        return []

    def latex(self, step: Any) -> list[str]:
        return []

    def summary(self, step: Any) -> dict:
        """Extra fields of a spatial step or a combinator in `derive --format json`."""
        return {}

    def report_text(self, step: Any, lines: list[str], indent: str, body: Callable) -> None:
        """A combinator's lines of `derive`'s text; `body(children, indent)` writes the children's."""
        raise NotImplementedError

    def report_latex(self, step: Any, out: list[str], body: Callable) -> None:
        raise NotImplementedError


def window_size(window: tuple[int, ...]) -> int:
    return math.prod(window)


def window_text(window: tuple[int, ...]) -> str:
    return "x".join(map(str, window))


PADDING_TEXT = {"SAME": "zero outside the image (SAME)", "VALID": "no padding (VALID)",
                "CIRCULAR": "indices wrap around (CIRCULAR)"}


def pool_stride(window: tuple[int, ...], stride: tuple[int, ...] | None) -> tuple[int, ...]:
    """A pool's stride: the window when not given; one entry spreads over two axes."""
    stride = tuple(stride) if stride else tuple(window)
    if len(stride) == 1 and len(window) == 2:
        stride = stride * 2
    return stride


def output_dims(dims: tuple[int, ...], window: tuple[int, ...], stride: tuple[int, ...], padding: str) -> tuple[int, ...]:
    """Spatial dims after a conv or pool, as `lax.padtype_to_pads` / neural-tangents compute them."""
    if padding == "VALID":
        return tuple((n - k) // s + 1 for n, k, s in zip(dims, window, stride, strict=True))
    return tuple(-(-n // s) for n, s in zip(dims, stride, strict=True))
