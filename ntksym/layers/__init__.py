"""The layer kinds: one module per YAML layer key, and the read-only registry `LAYERS` of them.

Adding a kind is one new module here plus one line in `_MODULES` (docs/extending.md walks through
`sum_pool`). Combinators (`repeat`, `residual`, `branches`) hold child layers; `walk_layers` and `map_layers` are
the one recursion over them that the stages share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import MappingProxyType
from typing import Any

from ntksym.layers import (
    activation,
    attention,
    avg_pool,
    branches,
    conv,
    conv_local,
    conv_transpose,
    dense,
    dropout,
    flatten,
    global_avg_pool,
    global_sum_pool,
    layer_norm,
    repeat,
    residual,
    sum_pool,
)
from ntksym.layers.base import LayerKind

_MODULES = (dense, activation, repeat, residual, layer_norm, conv, avg_pool, global_avg_pool, flatten,
            sum_pool, global_sum_pool, dropout, conv_transpose, conv_local, attention, branches)

LAYERS: MappingProxyType[str, LayerKind] = MappingProxyType({m.KIND.key: m.KIND for m in _MODULES})
LayerKind.registry = LAYERS


def kind_of(layer_or_step: Any) -> LayerKind:
    """The LayerKind of a spec layer or a derivation step (both carry the YAML key as `kind`)."""
    return LAYERS[layer_or_step.kind]


def walk_layers(layers: Iterable[Any]) -> Iterator:
    """Every layer, depth first, descending into combinators."""
    for layer in layers:
        yield layer
        yield from walk_layers(kind_of(layer).children(layer))


def map_layers(layers: Iterable[Any], fn: Callable) -> tuple:
    """`layers` with `fn(layer)` applied to each non-combinator layer; combinators rebuilt around them."""
    out = []
    for layer in layers:
        kind = kind_of(layer)
        if kind.combinator:
            out.append(kind.replace_children(layer, map_layers(kind.children(layer), fn)))
        else:
            out.append(fn(layer))
    return tuple(out)


def describe_layers(layers: Iterable[Any]) -> str:
    """`validate`'s one-line summary, e.g. `dense(512), relu, 3 x [conv, relu]`."""
    return ", ".join(kind_of(layer).describe(layer, describe_layers) for layer in layers)


def weight_count(layers: Iterable[Any], width: int) -> int:
    """Weights of the hidden layers at `width` (repeats counted): the bulk of a network's parameters."""
    def body(children) -> int:
        return weight_count(children, width)

    return sum(kind_of(layer).weights(layer, width, body) for layer in layers)


__all__ = ["LAYERS", "LayerKind", "describe_layers", "kind_of", "map_layers", "walk_layers", "weight_count"]
