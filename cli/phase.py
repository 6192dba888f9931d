"""`ntksym phase SPEC --w-std a:b:n --b-std a:b:n -o phase.png`: the order-to-chaos phase diagram."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

import ntksym
from ntksym.cli.common import SpecArg, check_output, save_npz
from ntksym.depth.fixed_points import make_analysis
from ntksym.errors import InputError
from ntksym.files import write_atomic

MAX_POINTS = 2000
MAX_STD = 1e6


def parse_range(text: str, option: str) -> np.ndarray:
    """'a:b:n' -> n evenly spaced values from a to b (both included)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise InputError(f"{option} {text!r}: expected START:STOP:COUNT, e.g. 0.5:3:60")
    try:
        start, stop = float(parts[0]), float(parts[1])
        count = int(parts[2])
    except ValueError:
        raise InputError(
            f"{option} {text!r}: START and STOP must be numbers and COUNT an integer, e.g. 0.5:3:60"
        ) from None
    if not (np.isfinite(start) and np.isfinite(stop)) or start < 0 or stop < 0:
        raise InputError(
            f"{option} {text!r}: START and STOP must be finite and >= 0 (they are standard deviations)"
        )
    if stop > MAX_STD:  # beyond, squares and fixed points overflow float64 with nothing to show
        raise InputError(f"{option} {text!r}: STOP must be at most {MAX_STD:g}")
    if stop <= start:
        raise InputError(f"{option} {text!r}: STOP must be greater than START")
    if not 2 <= count <= MAX_POINTS:
        raise InputError(f"{option} {text!r}: COUNT must be between 2 and {MAX_POINTS}")
    return np.linspace(start, stop, count)


def phase(
    spec: SpecArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output PNG; the grid goes to the same stem .npz.")
    ],
    w_std: Annotated[str, typer.Option("--w-std", help="w_std range START:STOP:COUNT.")] = "0.5:3:60",
    b_std: Annotated[str, typer.Option("--b-std", help="b_std range START:STOP:COUNT.")] = "0:1:60",
) -> None:
    """Draw the phase diagram of the spec's repeated block (dense or conv, activation, layer_norm, residual).

    Colours show chi_1 (ordered < 1 < chaotic), the black curve is the edge of chaos, the star is the
    spec's own (w_std, b_std). Example: ntksym phase specs/tanh_edge_of_chaos.yaml -o phase.png
    """
    w_values, b_values = parse_range(w_std, "--w-std"), parse_range(b_std, "--b-std")
    check_output(output, ".png")
    analysis = make_analysis(ntksym.derive(ntksym.load_spec(spec)), {})
    analysis.check_sweepable()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("chi_1 grid (rows of b_std)", total=len(b_values))
        chi, q, status = analysis.chi_1_grid(w_values, b_values, lambda n: progress.advance(task, n))
        task = progress.add_task("edge of chaos", total=1)
        critical = analysis.critical_w(b_values)[0]
        progress.advance(task)
    from ntksym.plots.phase import phase_png

    write_atomic(output, phase_png(w_values, b_values, chi, critical, (analysis.w, analysis.b), analysis.title))
    grid = output.with_suffix(".npz")
    save_npz(
        grid,
        w_std=w_values,
        b_std=b_values,
        chi_1=chi,
        q_star=q,
        status=status,
        critical_w_std=critical,
        spec_point=np.array([analysis.w, analysis.b]),
    )
    n_ordered, n_chaotic = int(np.sum(chi < 1)), int(np.sum(chi > 1))
    typer.echo(
        f"wrote {output} and {grid}: {chi.size} points, {n_ordered} ordered, {n_chaotic} chaotic, "
        f"{int(np.sum(np.isnan(chi)))} without a finite fixed point"
    )
