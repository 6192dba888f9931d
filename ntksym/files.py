"""Files ntksym writes: atomically (readers see the old file or the whole new one), and where its cache is."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def cache_dir() -> Path:
    """$NTKSYM_CACHE_DIR, else $XDG_CACHE_HOME/ntksym, else ~/.cache/ntksym."""
    if os.environ.get("NTKSYM_CACHE_DIR"):
        return Path(os.environ["NTKSYM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ntksym"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_folder_atomic(folder: Path, write: Callable[[Path], Iterable[Path]]) -> list[Path]:
    """Call `write(target) -> paths` so that `folder` appears whole or not at all.

    A new folder is filled under a private temporary name beside it and renamed into place; into an
    existing folder each file is written atomically by `write` itself (write_atomic). Returns the final
    paths."""
    folder = Path(folder)
    if folder.is_dir():
        return list(write(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        paths = [folder / Path(p).relative_to(tmp) for p in write(tmp)]
        try:
            os.rename(tmp, folder)
        except OSError:  # another process created `folder` meanwhile: move the files in one by one
            for path in paths:
                os.replace(tmp / path.relative_to(folder), path)
        return paths
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
