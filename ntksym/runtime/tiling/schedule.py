"""Choose how to evaluate a kernel: one call, tiles on one device, or tiles sharded over several."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ntksym.errors import InputError
from ntksym.runtime.tiling.evaluate import (
    Pair,
    Progress,
    TileWriter,
    block_kernels,
    block_limit,
    block_size,
    blocks_of,
    run_tiles,
)
from ntksym.runtime.tiling.plan import Tile, auto_tile_size, check_tile_size, even_split, plan
from ntksym.runtime.tiling.resumable import ResumableFolderSink, started_tile_sides
from ntksym.runtime.tiling.sharding import local_devices, process_share, run_sharded
from ntksym.runtime.tiling.sinks import ArraySink, NpyFolderSink, make_sink

if TYPE_CHECKING:
    import jax


def sides(n1: int, n2: int, symmetric: bool, limit: int) -> tuple[int, int]:
    rows = even_split(n1, limit)
    return (rows, rows) if symmetric else (rows, even_split(n2, limit))


def evaluate(
    pair: Pair,
    a: np.ndarray,
    b: np.ndarray | None,
    dtype: str,
    *,
    tile_size: int | None = None,
    progress: Progress | None = None,
    out: str | Path | Sequence[np.ndarray] | None = None,
    devices: Sequence[jax.Device] | None = None,
    floats_per_pair: int = 1,
    resume: str | None = None,
    process: tuple[int, int] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """(nngp, ntk, all_finite) of `pair` on x1 = a and x2 = b (None: a); `floats_per_pair` (the numbers
    the kernel's state holds per pair of inputs) sizes the blocks. `resume` (the job's identity, with a
    folder `out`): a shared, restartable output (runtime/tiling/resumable.py) of which this process computes the
    unfinished tiles of its share, `process` = (index, count) or jax's processes; (None, None, finite) while
    tiles of other processes are missing."""
    x1 = np.ascontiguousarray(a, dtype)
    x2 = x1 if b is None else np.ascontiguousarray(b, dtype)
    symmetric = b is None
    n1, n2 = x1.shape[0], x2.shape[0]
    devices = local_devices() if devices is None else list(devices)
    explicit = check_tile_size(tile_size)
    limit = explicit or auto_tile_size(np.dtype(dtype).itemsize, devices[0])
    one_block = max(n1, n2) <= block_limit(devices[0], floats_per_pair)
    if explicit is None and out is None and len(devices) == 1 and one_block:
        whole = Tile(0, n1, 0, n2, diagonal=symmetric, mirror=False)
        nngp, ntk = block_kernels(whole, pair(x1, x2))
        return nngp, ntk, bool(np.isfinite(nngp).all() and np.isfinite(ntk).all())
    started = None if resume is None or explicit is not None else started_tile_sides(out)
    tile_sides = (started[0], started[1]) if started else sides(n1, n2, symmetric, limit)
    all_tiles = plan(n1, n2, *tile_sides, symmetric)
    sink: ResumableFolderSink | ArraySink | NpyFolderSink
    if resume is not None:
        if not isinstance(out, (str, Path)):
            raise InputError("resuming needs a folder for out (where the finished tiles are recorded)")
        sink = ResumableFolderSink(out, (n1, n2), dtype, resume, tile_sides, len(all_tiles))
        index, count = process if process is not None else (None, None)
        tiles = sink.pending(all_tiles[index::count] if process is not None else process_share(all_tiles))
    else:
        tiles = process_share(all_tiles)
        sink = make_sink(out, (n1, n2), dtype)
    side = block_size(min(tile_sides), devices[0], floats_per_pair)
    total = sum(len(blocks_of(tile, side)) for tile in tiles)
    writer = TileWriter(sink, dtype, total, progress)
    try:
        if len(devices) > 1:
            run_sharded(pair, x1, x2, tiles, writer, side, devices)
        else:
            run_tiles(pair, x1, x2, tiles, writer, side)
    except BaseException:  # interrupted or failed: leave no half-written output files
        sink.abort()
        raise
    if not writer.finite:  # the caller raises NumericalError: nothing is kept (resumable: the finite tiles are)
        sink.abort()
        return None, None, False
    nngp, ntk = sink.result()
    return nngp, ntk, writer.finite
