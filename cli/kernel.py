"""`ntksym kernel SPEC --x1 A.npy [--x2 B.npy] -o K.npz`: NNGP and NTK on data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import ntksym
from ntksym.cli.common import SpecArg, X64Opt, check_output, check_output_dir, dtype_of, load_array, save_npz
from ntksym.cli.progress import tile_progress
from ntksym.errors import InputError
from ntksym.runtime.tiles import available_memory_bytes


def kernel(
    spec: SpecArg,
    x1: Annotated[
        Path, typer.Option("--x1", help="Inputs (.npy, or .npz with one array / array `x`), shape (n1, ...).")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output .npz with arrays `nngp` and `ntk` "
            "(with --memmap: a folder for nngp.npy and ntk.npy).",
        ),
    ],
    x2: Annotated[
        Path | None, typer.Option("--x2", help="Second inputs, shape (n2, ...); default: x1.")
    ] = None,
    x64: X64Opt = False,
    tile_size: Annotated[
        int | None, typer.Option("--tile-size", min=1, help="Rows per tile (default: from the free memory).")
    ] = None,
    memmap: Annotated[
        bool,
        typer.Option(
            "--memmap",
            help="Write nngp.npy and ntk.npy into the folder -o tile by "
            "tile, for kernels larger than memory.",
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Also print the kernels.")] = False,
) -> None:
    """Evaluate the infinite-width NNGP and NTK between x1 and x2.

    Example: ntksym kernel specs/relu_mlp.yaml --x1 x.npy -o k.npz --x64
    Larger than memory: ntksym kernel specs/relu_mlp.yaml --x1 big.npy -o k_folder --memmap
    """
    check_output_dir(output) if memmap else check_output(output, ".npz")
    loaded = ntksym.load_spec(spec)
    a = load_array(x1, "--x1", key="x" if str(x1).endswith(".npz") else None)
    b = None if x2 is None else load_array(x2, "--x2", key="x" if str(x2).endswith(".npz") else None)
    dtype = dtype_of(x64)
    if not memmap:
        need = 2 * a.shape[0] * (a.shape[0] if b is None else b.shape[0]) * np.dtype(dtype).itemsize
        free = available_memory_bytes()
        if free is not None and need > free // 2:
            raise InputError(
                f"the kernels need {need / 1e9:.1f} GB, more than half the free memory "
                f"({free / 1e9:.1f} GB); add --memmap and a folder for -o to write them tile by tile"
            )
    model = ntksym.compile(loaded, dtype=dtype)
    with tile_progress() as progress:
        result = model.kernel(a, b, tile_size=tile_size, progress=progress, out=output if memmap else None)
    if memmap:
        typer.echo(
            f"wrote {output}/nngp.npy and {output}/ntk.npy of shape {result.nngp.shape} ({model.dtype}); "
            "load with numpy.load(path, mmap_mode='r')"
        )
    else:
        save_npz(output, nngp=result.nngp, ntk=result.ntk)
        typer.echo(f"wrote {output}: nngp and ntk of shape {result.nngp.shape} ({model.dtype})")
    if show:
        with np.printoptions(precision=5, suppress=True, linewidth=120, threshold=400):
            typer.echo(f"nngp =\n{result.nngp}\nntk =\n{result.ntk}")
