"""Plan a large N x M kernel as square tiles whose working set fits in memory.

A kernel's cost is O(N M depth) time but its working set is only a few (tile x tile) arrays, so tiles
bound the memory. When x2 is x1 only the tiles on and above the diagonal are computed: each one above is
mirrored below, and each one on it gets the exact same-input values on its diagonal
(`tiled.symmetric_block`). Every block has the same padded shape and every block is one call of the same
program, so the jitted kernel compiles once, whatever N and M are.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ntksym.errors import InputError

if TYPE_CHECKING:
    import jax

# Arrays of (tile x tile) entries alive at once inside one layer of a generated kernel: the carried
# q12 and t12, their successors and the fused temporaries XLA keeps, plus the two returned results.
ARRAYS_PER_ENTRY = 12
MEMORY_FRACTION = 0.25  # of what is available: the rest stays free for the host copy and the OS
MAX_TILE = 4096  # beyond this a tile gains nothing in speed and only costs memory
MIN_TILE = 128


@dataclass(frozen=True)
class Tile:
    """Rows [r0, r1) of x1 against rows [c0, c1) of x2; `diagonal`: x2 is x1 and r0 == c0."""

    r0: int
    r1: int
    c0: int
    c1: int
    diagonal: bool = False
    mirror: bool = False  # also write the transpose at [c0:c1, r0:r1]


def available_memory_bytes() -> int | None:
    """Memory free for new work: psutil when installed, else MemAvailable from /proc/meminfo."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def device_memory_bytes(device: jax.Device | None) -> int | None:
    """Free memory of an accelerator (None on CPU, where host memory is the limit)."""
    if device is None or device.platform == "cpu":
        return None
    stats = getattr(device, "memory_stats", lambda: None)() or {}
    limit = stats.get("bytes_limit")
    return None if limit is None else int(limit - stats.get("bytes_in_use", 0))


def auto_tile_size(itemsize: int, device: jax.Device | None = None) -> int:
    """The largest tile whose working set uses at most MEMORY_FRACTION of the free memory."""
    free = device_memory_bytes(device) or available_memory_bytes() or 2 * 1024**3
    side = math.isqrt(int(free * MEMORY_FRACTION) // (ARRAYS_PER_ENTRY * itemsize))
    return max(MIN_TILE, min(MAX_TILE, side))


def check_tile_size(tile_size: int | None) -> int | None:
    if tile_size is None:
        env = os.environ.get("NTKSYM_TILE_SIZE")
        if not env:
            return None
        if not env.isdigit():
            raise InputError(f"NTKSYM_TILE_SIZE must be a positive integer, got {env!r}")
        tile_size = int(env)
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 1:
        raise InputError(f"tile_size must be a positive integer (rows per tile), got {tile_size!r}")
    return tile_size


def even_split(n: int, limit: int, align: int = 8) -> int:
    """A tile side <= `limit` that splits n into near-equal parts (little padding), aligned when it can be."""
    side = math.ceil(n / max(1, math.ceil(n / limit)))
    aligned = math.ceil(side / align) * align
    return min(n, aligned) if aligned <= limit else side


def plan(n1: int, n2: int, rows_per_tile: int, cols_per_tile: int, symmetric: bool) -> list[Tile]:
    """Tiles covering (n1, n2); with `symmetric` (x2 is x1), only those on and above the diagonal."""
    rows = [(r, min(r + rows_per_tile, n1)) for r in range(0, n1, rows_per_tile)]
    cols = [(c, min(c + cols_per_tile, n2)) for c in range(0, n2, cols_per_tile)]
    if not symmetric:
        return [Tile(r0, r1, c0, c1) for r0, r1 in rows for c0, c1 in cols]
    tiles = []
    for i, (r0, r1) in enumerate(rows):
        tiles.append(Tile(r0, r1, r0, r1, diagonal=True))
        tiles.extend(Tile(r0, r1, c0, c1, mirror=True) for c0, c1 in rows[i + 1 :])
    return tiles
