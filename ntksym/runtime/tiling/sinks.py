"""Where tiles of a kernel go: arrays in memory, or `.npy` files written tile by tile.

A kernel of 50,000 inputs is 2 x 50,000^2 x 4 B = 20 GB in float32, more than the memory of most
machines. `NpyFolderSink` writes `nngp.npy` and `ntk.npy` (created with `np.lib.format.open_memmap`,
so any numpy can `np.load(..., mmap_mode="r")` them) with plain file writes at each row's offset: the
process never maps the whole output, so its resident memory stays at a few tiles.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np
from numpy.typing import DTypeLike

from ntksym.errors import InputError

NAMES = ("nngp", "ntk")


class ArraySink:
    """Tiles written into two arrays of shape (n1, n2): new ones, or the caller's (e.g. memmaps)."""

    def __init__(self, shape: tuple[int, int], dtype, out: tuple[np.ndarray, np.ndarray] | None = None):
        if out is None:
            out = (np.empty(shape, dtype), np.empty(shape, dtype))
        if len(out) != 2:
            raise InputError("out must be a pair of arrays (nngp, ntk) or a folder path")
        for name, array in zip(NAMES, out, strict=True):
            if not isinstance(array, np.ndarray) or array.shape != shape or not array.flags.writeable:
                raise InputError(
                    f"out {name}: expected a writable numpy array of shape {shape}, got "
                    f"{getattr(array, 'shape', type(array).__name__)}"
                )
        self.arrays = tuple(out)

    def write(self, index: int, r0: int, c0: int, block: np.ndarray) -> None:
        self.arrays[index][r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block

    def result(self) -> tuple[np.ndarray, ...]:
        for array in self.arrays:
            if isinstance(array, np.memmap):
                array.flush()
        return self.arrays

    def abort(self) -> None:
        """Nothing to undo: the arrays are the caller's or new ones."""


class NpyFolderSink:
    """`folder/nngp.npy` and `folder/ntk.npy`, filled tile by tile; read back as read-only memmaps."""

    def __init__(self, folder: str | Path, shape: tuple[int, int], dtype):
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputError(
                f"out {folder} exists and is not a folder; give a folder for nngp.npy and ntk.npy"
            )
        self.created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the output folder {folder} ({exc.strerror}); choose another"
            ) from None
        self.folder = folder
        self.paths = tuple(folder / f"{name}.npy" for name in NAMES)
        # one process: fill private temporary files and rename them at the end, so a crash or an
        # overflow never leaves a half-written nngp.npy; several processes share the final files
        self.atomic = jax.process_count() == 1
        self.targets = tuple(
            folder / f".{path.name}.{os.getpid()}.tmp" if self.atomic else path for path in self.paths
        )
        self.shape, self.dtype = shape, np.dtype(dtype)
        # unbuffered positional writes: a buffered handle keeps a read-ahead copy of bytes that other
        # processes sharing the files write, and can write it back over theirs
        self.fds, self.offsets = [], []
        for path in self.targets:
            np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape).flush()
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    np.lib.format.read_array_header_1_0(handle)
                else:
                    np.lib.format.read_array_header_2_0(handle)
                self.offsets.append(handle.tell())
            self.fds.append(os.open(path, os.O_WRONLY))

    def write(self, index: int, r0: int, c0: int, block: np.ndarray) -> None:
        fd, base, width = self.fds[index], self.offsets[index], self.shape[1]
        block = np.ascontiguousarray(block, self.dtype)
        size = self.dtype.itemsize
        if c0 == 0 and block.shape[1] == width:  # whole rows: one write
            os.pwrite(fd, memoryview(block).cast("B"), base + r0 * width * size)  # type: ignore[arg-type]
            return
        for i, row in enumerate(block):
            os.pwrite(fd, memoryview(row).cast("B"), base + ((r0 + i) * width + c0) * size)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        for fd in self.fds:
            os.fsync(fd)
            os.close(fd)
        self.fds = []
        for target, path in zip(self.targets, self.paths, strict=True):
            if target != path:
                os.replace(target, path)
        return tuple(np.load(path, mmap_mode="r") for path in self.paths)

    def abort(self) -> None:
        """Close and delete the temporary files (and the folder if this sink created it and it is empty)."""
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.atomic:
            for target in self.targets:
                target.unlink(missing_ok=True)
            if self.created and not any(self.folder.iterdir()):
                self.folder.rmdir()


def make_sink(out: str | Path | Sequence[np.ndarray] | None, shape: tuple[int, int], dtype: DTypeLike) -> ArraySink | NpyFolderSink:
    """`out`: None (new arrays), a pair of arrays, or a folder (str / Path) for nngp.npy and ntk.npy."""
    if out is None or isinstance(out, (tuple, list)):
        return ArraySink(shape, dtype, None if out is None else tuple(out))
    if isinstance(out, (str, Path)):
        return NpyFolderSink(out, shape, dtype)
    raise InputError(
        f"out must be None, a pair of arrays (nngp, ntk) or a folder path, got {type(out).__name__}"
    )
