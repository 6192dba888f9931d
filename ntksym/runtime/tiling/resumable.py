"""A kernel output folder that several processes fill together and that a restart completes.

`folder/manifest.json` names the job (a hash of the spec, dtype, hyperparameters and both inputs), the
kernel's shape and the tile sides; `folder/nngp.npy` and `folder/ntk.npy` are created once (under a lock,
whichever process comes first) and then written in place; `folder/tiles/R-C.done` marks a finished tile,
created (atomically, by rename) only after the tile's rows are written and fsynced, so a tile cut off
half-way is never counted and is computed again. Process i of n takes every n-th tile of the plan; tiles
are independent, so processes need no collectives, only the shared folder (a parallel file system across
hosts). `status(folder)` says how far a job got.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntksym.errors import InputError
from ntksym.files import write_atomic
from ntksym.runtime.tiling.plan import Tile
from ntksym.runtime.tiling.sinks import NAMES

MANIFEST = "manifest.json"
FORMAT = 1


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _marker(folder: Path, tile: Tile) -> Path:
    return folder / "tiles" / f"{tile.r0}-{tile.c0}.done"


@dataclass(frozen=True)
class Status:
    folder: Path
    done: int
    total: int
    shape: tuple[int, int]
    dtype: str

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def line(self) -> str:
        percent = 100.0 * self.done / max(self.total, 1)
        state = "complete" if self.complete else "incomplete: run the same command again to finish it"
        return (f"{self.folder}: {self.done} of {self.total} tiles ({percent:.1f} %) of a {self.shape[0]} x "
                f"{self.shape[1]} {self.dtype} kernel, {state}")


def started_tile_sides(folder) -> list[int] | None:
    """The tile sides of the job already started in `folder` (a restart must use the same tiles)."""
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text()).get("tile_sides") if path.is_file() else None


def status(folder: str | Path) -> Status:
    """Progress of the job in `folder` (InputError when it holds none)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"{folder} holds no resumable kernel job ({MANIFEST} is missing); start one with "
                         "`ntksym kernel SPEC --x1 X --memmap --resume -o FOLDER`")
    manifest = json.loads(path.read_text())
    done = len(list((folder / "tiles").glob("*.done")))
    return Status(folder, done, manifest["tiles"], tuple(manifest["shape"]), manifest["dtype"])


class ResumableFolderSink:
    """The shared output folder of one job; `pending(tiles)` drops the finished ones."""

    resumable = True

    def __init__(self, folder: str | Path, shape: tuple[int, int], dtype, job: str, tile_sides, tiles: int):
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"out {folder} exists and is not a folder; give a folder for nngp.npy and ntk.npy")
        try:
            (folder / "tiles").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder {folder} ({exc.strerror}); choose another") from None
        self.folder, self.shape, self.dtype = folder, tuple(shape), np.dtype(dtype)
        self.paths = tuple(folder / f"{name}.npy" for name in NAMES)
        wanted = {"format": FORMAT, "job": job, "shape": list(shape), "dtype": self.dtype.name,
                  "tile_sides": list(tile_sides), "tiles": tiles}
        with _locked(folder / ".lock"):
            manifest_path = folder / MANIFEST
            if manifest_path.is_file():
                found = json.loads(manifest_path.read_text())
                if found.get("job") != job or found.get("shape") != wanted["shape"] or found.get("dtype") != wanted["dtype"]:
                    raise InputError(f"{folder} holds a kernel job of other inputs, spec, hyperparameters or dtype; "
                                     "give a new folder for -o (or delete this one)")
                if found.get("tile_sides") != wanted["tile_sides"]:
                    raise InputError(f"{folder} was started with tiles of {found.get('tile_sides')} rows; resume with "
                                     f"--tile-size {found['tile_sides'][0]}")
            else:
                for path in self.paths:
                    np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=self.shape).flush()
                write_atomic(manifest_path, json.dumps(wanted, indent=2) + "\n")
        # unbuffered positional writes (os.pwrite): a buffered handle would hold a stale read-ahead copy of
        # bytes that other processes write, and could write it back
        self.fds, self.offsets = [], []
        for path in self.paths:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                shape_found, _, dtype_found = header(handle)
                offset = handle.tell()
            if tuple(shape_found) != self.shape or dtype_found != self.dtype:
                raise InputError(f"{path} does not hold a {self.shape} {self.dtype} array; delete {folder} and start again")
            self.offsets.append(offset)
            self.fds.append(os.open(path, os.O_WRONLY))

    def pending(self, tiles: list[Tile]) -> list[Tile]:
        return [tile for tile in tiles if not _marker(self.folder, tile).exists()]

    def write(self, index: int, r0: int, c0: int, block: np.ndarray) -> None:
        fd, base, width = self.fds[index], self.offsets[index], self.shape[1]
        block = np.ascontiguousarray(block, self.dtype)
        size = self.dtype.itemsize
        for i, row in enumerate(block):
            os.pwrite(fd, memoryview(row).cast("B"), base + ((r0 + i) * width + c0) * size)

    def tile_done(self, tile: Tile, finite: bool) -> None:
        """Mark a tile finished once its rows are on disk (a non-finite tile is left to be computed again)."""
        for fd in self.fds:
            os.fsync(fd)
        if finite:
            write_atomic(_marker(self.folder, tile), "")

    def result(self):
        """The kernels as read-only memmaps when every tile of the job is done, else (None, None)."""
        self._close()
        if not status(self.folder).complete:
            return None, None
        return tuple(np.load(path, mmap_mode="r") for path in self.paths)

    def abort(self) -> None:
        """Keep what is done (the markers say which tiles): a restart finishes the rest."""
        self._close()

    def _close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
