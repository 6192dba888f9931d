"""`ntksym kernel SPEC --x1 A.npy [--x2 B.npy] -o K.npz`: NNGP and NTK on data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import ntksym
from ntksym.cli.common import X64Opt, check_output, check_output_dir, dtype_of, load_array, save_npz
from ntksym.cli.progress import tile_progress
from ntksym.errors import InputError
from ntksym.runtime.tiling.plan import available_memory_bytes


def kernel(
    spec: Annotated[Path | None, typer.Argument(help="Path of the YAML spec, e.g. specs/relu_mlp.yaml.",
                                                show_default=False)] = None,
    x1: Annotated[
        Path | None, typer.Option("--x1", help="Inputs (.npy, or .npz with one array / array `x`), shape (n1, ...).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output .npz with arrays `nngp` and `ntk` "
            "(with --memmap: a folder for nngp.npy and ntk.npy).",
        ),
    ] = None,
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
    resume: Annotated[bool, typer.Option(
        "--resume", help="With --memmap: record finished tiles in the folder; the same command again finishes "
        "a run that was cut off.")] = False,
    num_processes: Annotated[int | None, typer.Option(
        "--num-processes", help="Processes sharing the tiles (implies --resume; default $NTKSYM_NUM_PROCESSES "
        "or $SLURM_NTASKS).")] = None,
    process_id: Annotated[int | None, typer.Option(
        "--process-id", help="This process's index, 0 .. N-1 (default $NTKSYM_PROCESS_ID or $SLURM_PROCID).")] = None,
    coordinator: Annotated[str | None, typer.Option(
        "--coordinator", help="HOST:PORT: also call jax.distributed.initialize (multi-host accelerators).")] = None,
    status: Annotated[Path | None, typer.Option(
        "--status", help="Print the progress of the resumable job in this folder and exit.")] = None,
) -> None:
    """Evaluate the infinite-width NNGP and NTK between x1 and x2.

    Example: ntksym kernel specs/relu_mlp.yaml --x1 x.npy -o k.npz --x64
    Larger than memory: ntksym kernel specs/relu_mlp.yaml --x1 big.npy -o k_folder --memmap
    Two processes, restartable: ... --memmap --num-processes 2 --process-id 0 (and 1) -o k_folder
    """
    if status is not None:
        from ntksym.runtime.tiling.resumable import status as job_status

        typer.echo(job_status(status).line())
        return
    if spec is None or x1 is None or output is None:
        missing = [name for name, value in (("SPEC", spec), ("--x1", x1), ("-o", output)) if value is None]
        raise InputError(f"missing {', '.join(missing)}: give SPEC --x1 X -o OUT (or --status FOLDER alone)")
    process = _process(num_processes, process_id, coordinator)
    if (resume or process is not None) and not memmap:
        raise InputError("--resume and --num-processes / --process-id write tiles into a folder: add --memmap")
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
        result = model.kernel(a, b, tile_size=tile_size, progress=progress, out=output if memmap else None,
                              resume=resume or process is not None, process=process)
    if result.nngp is None:
        from ntksym.runtime.tiling.resumable import status as job_status

        who = "" if process is None else f"process {process[0]} of {process[1]}: its tiles are done; "
        typer.echo(f"{who}{job_status(output).line()}")
        return
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


def _process(count: int | None, index: int | None, coordinator: str | None) -> tuple[int, int] | None:
    """(index, count) from the options, else the environment ($NTKSYM_* or SLURM's); None: one process."""
    import os

    def env(*names: str) -> int | None:
        for name in names:
            value = os.environ.get(name)
            if value is not None:
                if not value.isdigit():
                    raise InputError(f"${name} must be a whole number, got {value!r}")
                return int(value)
        return None

    count = count if count is not None else env("NTKSYM_NUM_PROCESSES", "SLURM_NTASKS")
    index = index if index is not None else env("NTKSYM_PROCESS_ID", "SLURM_PROCID")
    if coordinator is not None:
        if count is None or index is None:
            raise InputError("--coordinator needs --num-processes and --process-id (or SLURM's variables)")
        import jax

        jax.distributed.initialize(coordinator_address=coordinator, num_processes=count, process_id=index)
    if count is None and index is None:
        return None
    if count is None or index is None:
        raise InputError("give both --num-processes N and --process-id I (0 <= I < N)")
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--process-id must be in 0 .. {count - 1} for --num-processes {count}, got {index}")
    return index, count

