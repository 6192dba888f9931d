"""Tiles sharded across devices: `jax.sharding.Mesh` + `shard_map`, one tile per device per step.

Tiles are independent, so the devices never talk to each other: a batch of D tiles is stacked into
arrays of shape (D, tile, features), split along the first axis over a one-axis mesh, and each device
runs the generated kernel (vmapped over its share) on its own tile. Across hosts (after
`jax.distributed.initialize()`), each process takes every `process_count()`-th tile and runs it on its
local devices; with a shared output folder (`out=`) the files are complete once all processes finish.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from ntksym.runtime.tiled import Pair, TileWriter, pad_rows
from ntksym.runtime.tiles import Tile

try:  # jax >= 0.6 exports shard_map at the top level
    from jax import shard_map
except ImportError:  # pragma: no cover - older jax
    from jax.experimental.shard_map import shard_map

AXIS = "tiles"


def local_devices() -> list:
    """The devices this process drives."""
    return list(jax.local_devices())


def process_share(tiles: list[Tile]) -> list[Tile]:
    """This process's tiles when several hosts share the work (all of them on a single host)."""
    count = jax.process_count()
    return tiles if count == 1 else tiles[jax.process_index()::count]


def sharded_functions(pair: Pair, devices: list):
    """(cross, diag): jitted functions of stacked tiles, split over `devices` along the first axis."""
    mesh = Mesh(np.asarray(devices), (AXIS,))
    spec = PartitionSpec(AXIS)
    cross = shard_map(jax.vmap(lambda a, b: tuple(pair(a, b))), mesh=mesh, in_specs=(spec, spec), out_specs=spec)
    diag = shard_map(jax.vmap(lambda a: tuple(pair(a, None))), mesh=mesh, in_specs=spec, out_specs=spec)
    return jax.jit(cross), jax.jit(diag)


def run_sharded(pair: Pair, x1: np.ndarray, x2: np.ndarray, tiles: list[Tile], sides: tuple[int, int], writer: TileWriter,
                devices: list) -> None:
    """Batches of len(devices) tiles of one kind (diagonal or not), the last batch padded by repetition."""
    cross, diag = sharded_functions(pair, devices)
    count = len(devices)
    pending = None
    for on_diagonal in (True, False):
        group = [tile for tile in tiles if tile.diagonal == on_diagonal]
        for start in range(0, len(group), count):
            batch = group[start:start + count]
            padded = batch + [batch[0]] * (count - len(batch))
            a = np.stack([pad_rows(x1[t.r0:t.r1], sides[0]) for t in padded])
            if on_diagonal:
                results = diag(a)
            else:
                results = cross(a, np.stack([pad_rows(x2[t.c0:t.c1], sides[1]) for t in padded]))
            if pending is not None:
                flush(*pending, writer)
            pending = (batch, results)
    if pending is not None:
        flush(*pending, writer)


def flush(batch: list[Tile], results, writer: TileWriter) -> None:
    host = [np.asarray(result) for result in results]
    for k, tile in enumerate(batch):
        writer.write(tile, [array[k] for array in host])
