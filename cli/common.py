"""Option types and helpers shared by the commands."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from ntksym.errors import InputError
from ntksym.files import write_atomic
from ntksym.runtime.datasets import DATASETS, load_dataset

SpecArg = Annotated[Path, typer.Argument(help="Path of the YAML spec, e.g. specs/relu_mlp.yaml.", show_default=False)]
X64Opt = Annotated[bool, typer.Option("--x64", help="Compute in float64 (default float32).")]


def dtype_of(x64: bool) -> str:
    return "float64" if x64 else "float32"


def check_output(path: Path, suffix: str | None = None, option: str = "-o") -> Path:
    """Refuse an output path that cannot be written (or lacks `suffix`), before any work is done."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        example = path / f"out{suffix or '.npz'}"
        raise InputError(f"{option} {path} is a directory; give a file name such as {example}")
    if suffix is not None and path.suffix.lower() != suffix:
        raise InputError(f"{option} {path}: give a {suffix} file name, e.g. {path.with_suffix(suffix).name}")
    if not parent.exists():
        raise InputError(f"{option} {path}: the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is not a folder; choose another output path")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{option} {path}: permission denied; choose an output path in a folder you can write")
    return path


def check_output_dir(path: Path) -> Path:
    """An output folder: created if missing, refused if it cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"-o {path} exists and is not a folder; choose a folder path (it will be created)")
    parent = path if path.exists() else (path.parent if str(path.parent) else Path("."))
    if not parent.exists():
        raise InputError(f"-o {path}: the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise InputError(f"-o {path}: {parent} is not a folder; choose another output folder")
    if not os.access(parent, os.W_OK):
        raise InputError(f"-o {path}: permission denied; choose an output folder you can write")
    return path


def readable_file(path: Path, what: str) -> Path:
    """`path` if it is a regular file this process may read, else an `InputError` saying why."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}; check the path")
    if path.is_dir():
        raise InputError(f"{what}: {path} is a directory; give the path of a .npy or .npz file")
    if not path.is_file():  # a FIFO or device: np.load would block or never end
        raise InputError(f"{what}: {path} is not a regular file (a pipe or device?); save the data with numpy.save")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what}: cannot read {path}: permission denied; check its permissions")
    return path


def load_array(path: Path, what: str, key: str | None = None) -> np.ndarray:
    """An array from .npy, or from .npz (the array `key`, or its only array)."""
    path = readable_file(path, what)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        _refuse_pickle(exc, what, path)
        raise InputError(f"{what}: cannot read {path} as .npy/.npz ({type(exc).__name__}); save it with numpy.save") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            names = list(data.files)
            if key is None and len(names) == 1:
                key = names[0]
            if key is None:
                raise InputError(f"{what}: {path} holds several arrays ({', '.join(names)}) and none is named `x`; "
                                 "save the inputs alone with numpy.save, or as numpy.savez(path, x=...)")
            if key not in names:
                raise InputError(f"{what}: {path} has no array `{key}` (it has {', '.join(names) or 'none'}); "
                                 f"save it as numpy.savez(path, {key}=...)")
            data = _member(data, key, what, path)
    return _not_scalar(np.asarray(data), what, path, key)


def _refuse_pickle(exc: Exception, what: str, path: Path, key: str | None = None) -> None:
    """An object (pickled) array: ntksym never unpickles, so it says how to save plain numbers."""
    if isinstance(exc, ValueError) and "Object arrays cannot be loaded" in str(exc):
        where = f"array `{key}` of {path}" if key else str(path)
        raise InputError(f"{what}: {where} holds Python objects (a pickled object array), which ntksym never loads; "
                         "save plain numbers, e.g. numpy.save(path, np.asarray(x, dtype=float))") from None


def _member(data, key: str, what: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(data[key])
    except Exception as exc:  # a pickled member, a corrupt zip entry
        _refuse_pickle(exc, what, path, key)
        raise InputError(f"{what}: cannot read array `{key}` of {path} ({type(exc).__name__}); "
                         "save it again with numpy.savez") from None


def _not_scalar(array: np.ndarray, what: str, path: Path, key: str | None = None) -> np.ndarray:
    if array.ndim == 0:
        where = f"array `{key}` of {path}" if key else str(path)
        raise InputError(f"{what}: {where} holds a single number (a 0-d array); save an array of shape "
                         "(examples, features)")
    return array


def load_npz(path: Path, what: str, one_hot: bool = False) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, or a named dataset's part (ntksym.runtime.datasets: `digits`, `mnist1d`, ...;
    `--test` takes the test part, any other option the training part, `NAME:train` / `NAME:test` choose), its
    labels y as one-hot rows where `one_hot`."""
    name, _, part = str(path).partition(":")
    if name in DATASETS and not Path(path).exists():
        part = part or ("test" if what == "--test" else "train")
        if part not in ("train", "test"):
            raise InputError(f"{what}: {path}: the part after `:` must be train or test, got {part!r}")
        data = load_dataset(name).split(part)
        if one_hot:
            data = {"x": data["x"], "y": np.eye(int(data["y"].max()) + 1)[data["y"]]}
        return data
    path = readable_file(path, what)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        _refuse_pickle(exc, what, path)
        raise InputError(f"{what}: cannot read {path} as .npz ({type(exc).__name__}); "
                         "save it with numpy.savez(path, x=..., y=...)") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputError(f"{what}: {path} is not an .npz archive; save it with numpy.savez(path, x=..., y=...)")
    with data:
        return {name: _not_scalar(_member(data, name, what, path), what, path, name) for name in data.files}


def save_npz(path: Path, **arrays: Any) -> None:  # Any: np.savez also takes allow_pickle
    """Write an .npz atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(Path(path), buffer.getvalue())
