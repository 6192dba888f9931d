"""`ntksym check SPEC --widths 64,256,1024 -o DIR`: real finite networks against the infinite-width theory."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

import ntksym
from ntksym.cli.common import SpecArg, X64Opt, check_output_dir, dtype_of, load_array
from ntksym.errors import InputError
from ntksym.layers import weight_count as layer_weight_count
from ntksym.runtime.data import check_inputs, check_range, representable
from ntksym.runtime.tiling.plan import available_memory_bytes
from ntksym.spec import schema as s


class RichProgress:
    """Adapts `ntksym.runtime.check.Progress` callbacks to rich progress bars."""

    def __init__(self, progress: Progress):
        self.tasks: dict[str, TaskID]
        self.progress, self.tasks = progress, {}

    def start(self, name: str, total: int) -> None:
        self.tasks[name] = self.progress.add_task(name, total=total)

    def advance(self, name: str) -> None:
        self.progress.advance(self.tasks[name])


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(
            f"--widths must be whole numbers separated by commas, like 64,256,1024; got {text!r}"
        ) from None
    if not widths or min(widths) < 1:
        raise InputError(f"--widths must be positive, like 64,256,1024; got {text!r}")
    return widths


def weight_count(layers: Iterable[Any], width: int) -> int:
    """Weights of the hidden layers at `width` (repeats counted): the bulk of a network's parameters."""
    return layer_weight_count(layers, width)


def check_memory(spec: s.Spec, width: int, rows: int, itemsize: int) -> None:
    """Refuse a width whose empirical NTK Jacobian (rows x parameters) cannot fit in the free memory."""
    need = rows * weight_count(spec.layers, width) * itemsize
    free = available_memory_bytes()
    if free is not None and need > free:
        raise InputError(f"--widths: width {width} needs about {need / 1e9:.3g} GB for the empirical NTK, more "
                         f"than the {free / 1e9:.3g} GB free; use smaller --widths")


def check(
    spec: SpecArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for report.json and the PNG figures.")
    ],
    widths: Annotated[str, typer.Option("--widths", help="Hidden widths, comma separated.")] = "64,256,1024",
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Networks per width.")] = 8,
    n: Annotated[int, typer.Option("--n", min=2, help="Training inputs (the kernels are n x n).")] = 32,
    train_steps: Annotated[
        int, typer.Option("--train-steps", min=0, help="Gradient descent steps (0: no training).")
    ] = 200,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            "--learning-rate", help="Step size; default half the maximal stable one, n k / lambda_max(NTK)."
        ),
    ] = None,
    train_seeds: Annotated[int, typer.Option("--train-seeds", min=0, help="Networks trained per width.")] = 4,
    samples: Annotated[int, typer.Option("--samples", min=1, help="Networks per Monte Carlo NNGP.")] = 16,
    data: Annotated[
        Path | None, typer.Option("--data", help="Inputs .npy (n + n_test rows); default Gaussian.")
    ] = None,
    dim: Annotated[
        int,
        typer.Option("--dim", min=1, help="Features of the random inputs if the spec has no input_shape."),
    ] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    x64: X64Opt = False,
) -> None:
    """Compare finite networks built from the spec with its analytic NNGP and NTK over a width sweep.

    Example: ntksym check specs/relu_mlp.yaml --widths 64,256,1024 --seeds 8 -o report/
    """
    check_output_dir(output)
    sizes = parse_widths(widths)
    if learning_rate is not None and not (math.isfinite(learning_rate) and learning_rate > 0):
        raise InputError(f"--learning-rate must be a positive finite number, got {learning_rate:g}; "
                         "or leave it out for half the maximal stable rate")
    if learning_rate is not None and (why := representable(learning_rate, dtype_of(x64))):
        raise InputError(f"--learning-rate: {why}")
    loaded = ntksym.load_spec(spec)
    check_memory(loaded, max(sizes), max(n, samples), 8 if x64 else 4)
    x = None if data is None else load_array(data, "--data", key="x" if str(data).endswith(".npz") else None)
    if x is not None:
        x = check_inputs(x, loaded, f"--data {data}")
        check_range(x, dtype_of(x64), f"--data {data}")
    columns = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bars:
        report = ntksym.check(
            loaded,
            sizes,
            seeds=seeds,
            n=n,
            train_steps=train_steps,
            learning_rate=learning_rate,
            train_seeds=train_seeds,
            samples=samples,
            dtype=dtype_of(x64),
            x=x,
            key=seed,
            input_dim=dim,
            progress=RichProgress(bars),
        )
    paths = report.save(output)
    typer.echo(report.text())
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
