"""Blocks sharded across devices: `jax.sharding.Mesh` + `shard_map`, one block per device per step.

Blocks are independent, so the devices never talk to each other: a batch of D blocks is stacked into
arrays of shape (D, block, features), split along the first axis over a one-axis mesh, and each device
runs the generated kernel (vmapped over its share) on its own block. Across hosts (after
`jax.distributed.initialize()`), each process takes every `process_count()`-th tile and runs it on its
local devices; with a shared output folder (`out=`) the files are complete once all processes finish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec
from numpy.typing import ArrayLike

from ntksym.runtime.tiling.evaluate import Pair, TileWriter, blocks_of, pad_rows
from ntksym.runtime.tiling.plan import Tile

try:  # jax >= 0.6 exports shard_map at the top level
    from jax import shard_map
except ImportError:  # pragma: no cover - older jax
    from jax.experimental.shard_map import shard_map  # type: ignore[no-redef]  # older jax: other signature

AXIS = "tiles"


def local_devices() -> list:
    """The devices this process drives."""
    return list(jax.local_devices())


def process_share(tiles: list[Tile]) -> list[Tile]:
    """This process's tiles when several hosts share the work (all of them on a single host)."""
    count = jax.process_count()
    return tiles if count == 1 else tiles[jax.process_index() :: count]


def sharded_function(pair: Pair, devices: list) -> Callable:
    """`pair` of stacked blocks, jitted and split over `devices` along the first axis."""
    mesh = Mesh(np.asarray(devices), (AXIS,))
    spec = PartitionSpec(AXIS)
    cross = shard_map(
        jax.vmap(lambda a, b: tuple(pair(a, b))), mesh=mesh, in_specs=(spec, spec), out_specs=spec
    )
    return jax.jit(cross)


def run_sharded(
    pair: Pair,
    x1: np.ndarray,
    x2: np.ndarray,
    tiles: list[Tile],
    writer: TileWriter,
    side: int,
    devices: list,
) -> None:
    """Per tile, batches of len(devices) blocks of one kind (on the diagonal or not), the last batch
    padded by repetition; one batch in flight while the previous one is copied to the host."""
    cross = sharded_function(pair, devices)
    count = len(devices)
    for tile in tiles:
        a_all, b_all = x1[tile.r0 : tile.r1], x2[tile.c0 : tile.c1]
        writer.start(tile)
        pending = None
        blocks = blocks_of(tile, side)
        for on_diagonal in (True, False):
            group = [block for block in blocks if block.diagonal == on_diagonal]
            for start in range(0, len(group), count):
                batch = group[start : start + count]
                filled = batch + [batch[0]] * (count - len(batch))
                a = np.stack([pad_rows(a_all[t.r0 : t.r1], side) for t in filled])
                b = a if on_diagonal else np.stack([pad_rows(b_all[t.c0 : t.c1], side) for t in filled])
                results = cross(a, b)
                if pending is not None:
                    flush(*pending, writer)
                pending = (batch, results)
        if pending is not None:
            flush(*pending, writer)
        writer.finish()


def flush(batch: list[Tile], results: Sequence[ArrayLike], writer: TileWriter) -> None:
    host = [np.asarray(result) for result in results]
    for k, block in enumerate(batch):
        writer.block(block, [array[k] for array in host])
