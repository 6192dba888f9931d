"""Evaluate a kernel tile by tile, on one device or sharded over several, into a sink.

`pair(a, b)` is the generated kernel on one tile (b=None: a tile on the diagonal, with exact
same-input values). Tiles are padded to one shape by repeating a real row (never zeros, which some
kernels divide by), so the kernel compiles once; the padding is cut off before writing. JAX dispatches
asynchronously, so the next tile computes while the previous one is copied to the host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ntksym.runtime.tiles import Tile

Pair = Callable[[np.ndarray, np.ndarray | None], tuple]
Progress = Callable[[int, int], None]


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """x with its first row repeated until it has `rows` rows."""
    if x.shape[0] == rows:
        return x
    return np.concatenate([x, np.broadcast_to(x[:1], (rows - x.shape[0], *x.shape[1:]))])


class TileWriter:
    """Cuts padding, writes each tile (and its mirror), and tracks finiteness and progress."""

    def __init__(self, sink, total: int, progress: Progress | None):
        self.sink, self.total, self.progress = sink, total, progress
        self.done, self.finite = 0, True

    def write(self, tile: Tile, results: Sequence) -> None:
        h, w = tile.r1 - tile.r0, tile.c1 - tile.c0
        for index, result in enumerate(results):
            block = np.asarray(result)[:h, :w]
            self.finite = self.finite and bool(np.isfinite(block).all())
            self.sink.write(index, tile.r0, tile.c0, block)
            if tile.mirror:
                self.sink.write(index, tile.c0, tile.r0, block.T)
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def run_tiles(pair: Pair, x1: np.ndarray, x2: np.ndarray, tiles: list[Tile], sides: tuple[int, int],
              writer: TileWriter) -> None:
    """One device: each tile in turn, one tile in flight while the previous one is written."""
    pending = None
    for tile in tiles:
        a = pad_rows(x1[tile.r0:tile.r1], sides[0])
        b = None if tile.diagonal else pad_rows(x2[tile.c0:tile.c1], sides[1])
        result = pair(a, b)
        if pending is not None:
            writer.write(*pending)
        pending = (tile, result)
    if pending is not None:
        writer.write(*pending)
