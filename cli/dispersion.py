"""`ntksym dispersion SPEC --widths 25,50 --depths 1,5,10 -o disp.json --plot disp.png`: how random the
finite network's NTK is at initialisation, E[Theta^2] / E[Theta]^2 over weight seeds, against depth/width."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import ntksym
from ntksym.cli.check import RichProgress, parse_widths
from ntksym.cli.common import SpecArg, check_output, load_array
from ntksym.errors import InputError
from ntksym.files import write_atomic

MAX_SEEDS = 100_000


def parse_depths(text: str) -> list[int]:
    try:
        depths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--depths must be whole numbers separated by commas, like 1,5,10; got {text!r}") from None
    if not depths or min(depths) < 0:
        raise InputError(f"--depths must be whole numbers >= 0, like 1,5,10; got {text!r}")
    return depths


def dispersion(
    spec: SpecArg,
    widths: Annotated[str, typer.Option("--widths", help="Hidden widths, comma separated.")] = "32,64",
    depths: Annotated[str | None, typer.Option(
        "--depths", help="Values of the depth hyperparameter (the spec's `repeat: depth`), comma separated.")] = None,
    depth_name: Annotated[str, typer.Option("--depth-name", help="The repeat count's hyperparameter.")] = "depth",
    seeds: Annotated[int, typer.Option("--seeds", help="Weight draws per point.")] = 200,
    n: Annotated[int, typer.Option("--n", help="Random inputs (when --x is not given).")] = 4,
    x: Annotated[Path | None, typer.Option("--x", help="Inputs (.npy / .npz), shape (n, *input_shape).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the points and the fit as JSON.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write log dispersion against depth/width (PNG).")] = None,
) -> None:
    """E[Theta^2] / E[Theta]^2 of the empirical NTK over --seeds draws of the weights, at every width and
    depth: 1 at infinite width, about exp(5 depth/width) for ReLU without bias at w_std^2 = 2 (Hanin &
    Nica 2020). Prints a table and the fit of log dispersion against beta = sum of 1/width over hidden layers.
    Example: ntksym dispersion specs/relu_depth.yaml --widths 50 --depths 1,5,10,20 --plot disp.png
    """
    from ntksym.runtime.dispersion import HANIN_NICA_SLOPE, ntk_dispersion  # jax: imported when the command runs

    width_list = parse_widths(widths)
    depth_list = None if depths is None else parse_depths(depths)
    if not 2 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds must be between 2 and {MAX_SEEDS}, got {seeds}")
    if output is not None:
        check_output(output, ".json")
    if plot is not None:
        check_output(plot, ".png", "--plot")
    model_spec = ntksym.load_spec(spec)
    if x is not None:
        inputs = load_array(x, "--x")
    else:
        if not 1 <= n <= 1000:
            raise InputError(f"--n must be between 1 and 1000, got {n}")
        shape = tuple(model_spec.input_shape or (8,))
        inputs = np.random.default_rng(0).standard_normal((n, *shape))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bars:
        report = ntk_dispersion(model_spec, inputs, width_list, depth_list, depth_name, seeds,
                                progress=RichProgress(bars))
    typer.echo(f"NTK dispersion of `{model_spec.name}`, {seeds} seeds, {len(inputs)} inputs:")
    typer.echo("  depth  width    beta  E[T^2]/E[T]^2 diagonal  off-diagonal")
    for p in report.points:
        depth = "-" if p.depth is None else str(p.depth)
        off = "-" if math.isnan(p.off_diagonal) else f"{p.off_diagonal:.4g}"
        typer.echo(f"  {depth:>5}  {p.width:5d}  {p.beta:6.3f}  {p.diagonal:22.4g}  {off:>12}")
    doc = report.to_dict()
    if "fit_diagonal" in doc:
        fit = doc["fit_diagonal"]
        typer.echo(f"log dispersion = {fit['slope']:.3g} beta + {fit['intercept']:.3g} (R^2 = {fit['r2']:.3f}); "
                   f"Hanin & Nica: slope {HANIN_NICA_SLOPE:g} for ReLU without bias at w_std^2 = 2")
    if output is not None:
        write_atomic(output, json.dumps(doc, indent=2, allow_nan=False).encode())
        typer.echo(f"wrote {output}")
    if plot is not None:
        from ntksym.plots.dispersion import plot_dispersion

        plot_dispersion(report, plot)
        typer.echo(f"wrote {plot}")
