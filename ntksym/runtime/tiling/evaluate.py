"""Evaluate a kernel tile by tile, on one device or sharded over several, into a sink.

Two levels. A *tile* (up to a few thousand rows, bounded by memory) is the unit that is written to the
output (one host buffer per kernel). It is computed in cache-sized *blocks*, one jitted call each: XLA
does not fuse a layer's whole elementwise graph into one loop on CPU (an expensive value used twice is
materialised), so blocks of 256 x 256 entries keep those intermediates in the L2 cache, several times
faster than one pass over a large array. (A `lax.map` over blocks inside one call was tried: XLA then
copies the stacked outputs on every iteration.) On a tile on the diagonal (x2 is x1) only the blocks on
and above its diagonal are computed; the rest are mirrored.

`pair(a, b)` is the generated `kernel_with_diagonals`: (nngp, ntk) of a by b and a's same-input
(nngp, ntk). Every block, on the diagonal or not, is one call of it, so a kernel compiles one program
(compiling a spatial kernel takes seconds); a block on the diagonal (b is a) gets a's exact same-input
values on its diagonal and its upper triangle mirrored (`symmetric_block`). Tiles are padded to one shape
by repeating a real row (never zeros, which some kernels divide by).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ntksym.runtime.tiling.plan import Tile, plan

if TYPE_CHECKING:
    import jax

Pair = Callable[[np.ndarray, np.ndarray], tuple]
Progress = Callable[[int, int], None]


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """x with its first row repeated until it has `rows` rows."""
    if x.shape[0] == rows:
        return x
    return np.concatenate([x, np.broadcast_to(x[:1], (rows - x.shape[0], *x.shape[1:]))])


CPU_BLOCK_FLOATS = 256 * 256  # per kernel and block: a layer's intermediates stay in the L2 cache
ACCELERATOR_BLOCK_FLOATS = 2048 * 2048


def block_limit(device: jax.Device | None, floats_per_pair: int = 1) -> int:
    """The largest block side: cache-sized blocks on CPU (256 x 256 pairs of a fully-connected kernel,
    fewer pairs where each holds a pixel covariance); accelerators stream large arrays well."""
    budget = CPU_BLOCK_FLOATS if device is None or device.platform == "cpu" else ACCELERATOR_BLOCK_FLOATS
    return max(1, min(2048, math.isqrt(budget // max(1, floats_per_pair))))


def block_size(side: int, device: jax.Device | None, floats_per_pair: int = 1) -> int:
    """The block side that splits `side` into near-equal parts no larger than `block_limit`."""
    return math.ceil(side / math.ceil(side / block_limit(device, floats_per_pair)))


def symmetric_block(k: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """K(a, a) from a's block against itself: the upper triangle mirrored (exactly symmetric: a selection,
    no arithmetic), the diagonal the exact same-input values."""
    out = np.triu(k) + np.triu(k, 1).T
    np.fill_diagonal(out, diagonal)
    return out


def block_kernels(block: Tile, results: Sequence) -> list[np.ndarray]:
    """(nngp, ntk) of one block on the host from `pair`'s (nngp, ntk, nngp_diag, ntk_diag)."""
    host = [np.asarray(result) for result in results]
    if block.diagonal:
        return [symmetric_block(host[0], host[2]), symmetric_block(host[1], host[3])]
    return host[:2]


class TileWriter:
    """Fills one tile on the host block by block, then writes it (and its mirror) to the sink; tracks
    finiteness and progress (counted in blocks)."""

    def __init__(self, sink, dtype, total_blocks: int, progress: Progress | None):
        self.sink, self.dtype, self.total, self.progress = sink, dtype, total_blocks, progress
        self.done, self.finite = 0, True
        self.tile: Tile | None
        self.buffers: list[np.ndarray]
        self.tile, self.buffers = None, []

    def start(self, tile: Tile) -> None:
        self.tile = tile
        self.buffers = [np.empty((tile.r1 - tile.r0, tile.c1 - tile.c0), self.dtype) for _ in range(2)]

    def block(self, block: Tile, results: Sequence) -> None:
        """`block` in the tile's own coordinates; results padded to the block shape."""
        h, w = block.r1 - block.r0, block.c1 - block.c0
        for buffer, result in zip(self.buffers, block_kernels(block, results), strict=True):
            values = result[:h, :w]
            buffer[block.r0 : block.r1, block.c0 : block.c1] = values
            if block.mirror:
                buffer[block.c0 : block.c1, block.r0 : block.r1] = values.T
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        tile, finite = self.tile, True
        assert tile is not None, "finish() without start()"
        for index, buffer in enumerate(self.buffers):
            finite = finite and bool(np.isfinite(buffer).all())
            self.sink.write(index, tile.r0, tile.c0, buffer)
            if tile.mirror:
                self.sink.write(index, tile.c0, tile.r0, buffer.T)
        self.finite = self.finite and finite
        if getattr(self.sink, "resumable", False):
            self.sink.tile_done(tile, finite)
        self.tile, self.buffers = None, []


def blocks_of(tile: Tile, side: int) -> list[Tile]:
    """The blocks of a tile, in its own coordinates: upper ones only on a tile on the diagonal."""
    return plan(tile.r1 - tile.r0, tile.c1 - tile.c0, side, side, tile.diagonal)


def run_tiles(
    pair: Pair, x1: np.ndarray, x2: np.ndarray, tiles: list[Tile], writer: TileWriter, side: int
) -> None:
    """One device: each block in turn, one in flight while the previous one is copied to the host."""
    pending = None
    for tile in tiles:
        a_all, b_all = x1[tile.r0 : tile.r1], x2[tile.c0 : tile.c1]
        for block in blocks_of(tile, side):
            a = pad_rows(a_all[block.r0 : block.r1], side)
            result = pair(a, a if block.diagonal else pad_rows(b_all[block.c0 : block.c1], side))
            if pending is not None:
                pending[0](pending[1], pending[2])
            if writer.tile is not tile:
                if writer.tile is not None:
                    writer.finish()
                writer.start(tile)
            pending = (writer.block, block, result)
    if pending is not None:
        pending[0](pending[1], pending[2])
        writer.finish()
