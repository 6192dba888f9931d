"""`ntksym linearize SPEC --train train.npz --test test.npz --widths 64,256,1024 -o DIR`: a finite network, its
linearisation and the infinite-width NTK mean trained side by side (Lee et al. 2019; Ortiz-Jimenez et al. 2021)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import ntksym
from ntksym.cli.check import RichProgress, parse_widths
from ntksym.cli.common import SpecArg, X64Opt, check_output_dir, dtype_of, load_npz
from ntksym.cli.dynamics import _array
from ntksym.errors import InputError, NumericalError
from ntksym.runtime.data import check_inputs, check_range, representable

MAX_STEPS, MAX_SEEDS = 1_000_000, 1000


def _check_options(steps, learning_rate, loss, optimizer, momentum, batch_size, seeds, record_every, ntk_points,
                   dtype) -> None:
    """Every option, before any data is read or anything computed."""
    from ntksym.runtime.linearized import check_choices

    check_choices(loss, optimizer, momentum, prefix="--")
    if not 1 <= steps <= MAX_STEPS:
        raise InputError(f"--steps must be between 1 and {MAX_STEPS:,}, got {steps}")
    if not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
    if learning_rate is not None:
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise InputError(f"--lr must be a positive finite number, got {learning_rate:g}; or leave it out for "
                             "half the maximal stable rate")
        if why := representable(learning_rate, dtype):
            raise InputError(f"--lr: {why}")
    for value, option, least in ((batch_size, "--batch-size", 1), (record_every, "--record-every", 1),
                                 (ntk_points, "--ntk-points", 2)):
        if value is not None and value < least:
            raise InputError(f"{option} must be a whole number >= {least}, got {value}")


def _load(path: Path, option: str, spec) -> tuple[np.ndarray, np.ndarray]:
    """x and y of a .npz, as `ntksym dynamics` reads them; y (n,) or (n, outputs)."""
    data = load_npz(path, option, one_hot=True)  # a dataset name: labels as one-hot rows
    x, y = _array(data, "x", option, path), _array(data, "y", option, path)
    x = check_inputs(x, spec, f"{option}: x")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0] or (y.ndim == 2 and y.shape[1] == 0):
        raise InputError(f"{option}: y has shape {y.shape} but x holds {x.shape[0]} examples; y must be (n,) "
                         "or (n, outputs)")
    return x, y


def linearize(
    spec: SpecArg,
    train: Annotated[Path, typer.Option("--train", help="Training .npz: x (n, ...), y (n, k) or labels (n,); or a dataset name (digits).")],
    test: Annotated[Path, typer.Option("--test", help="Test .npz: arrays x (m, ...), y (m, k) or labels (m,).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for report.json, curves.png, distance.png.")],
    widths: Annotated[str, typer.Option("--widths", help="Hidden widths, comma separated.")] = "64,256,1024",
    steps: Annotated[int, typer.Option("--steps", help="Optimiser steps.")] = 100,
    learning_rate: Annotated[float | None, typer.Option(
        "--lr", "--learning-rate", help="Step size; default half the maximal stable one, n k / lambda_max(NTK).")] = None,
    loss: Annotated[str, typer.Option("--loss", help="mse or cross_entropy (softmax over the outputs).")] = "mse",
    optimizer: Annotated[str, typer.Option("--optimizer", help="gd (plain descent) or momentum (heavy ball).")] = "gd",
    momentum: Annotated[float, typer.Option("--momentum", help="Momentum of --optimizer momentum.")] = 0.9,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", help="Minibatch size (SGD, batches drawn afresh every step); default full batch.")] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Networks per width.")] = 1,
    record_every: Annotated[int | None, typer.Option(
        "--record-every", help="Measure every N steps (default steps / 10).")] = None,
    ntk_points: Annotated[int | None, typer.Option(
        "--ntk-points", help="Training inputs for the NTK's drift and alignment (default all).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of weights and minibatches.")] = 0,
    x64: X64Opt = False,
) -> None:
    """Train the finite network, its linearisation f_lin = f_0 + J_0 (theta - theta_0) (by jax.jvp) and the
    infinite-width NTK mean side by side at every width; record losses, accuracies, the network's distance from
    its linearisation, the NTK's drift and its kernel-target alignment (Lee et al. 2019; Ortiz-Jimenez et al. 2021).

    Example: ntksym linearize specs/relu_mlp.yaml --train train.npz --test test.npz --widths 64,256,1024
    --steps 200 --loss cross_entropy --optimizer momentum --batch-size 128 -o linearized/
    """
    check_output_dir(output)
    sizes = parse_widths(widths)
    dtype = dtype_of(x64)
    _check_options(steps, learning_rate, loss, optimizer, momentum, batch_size, seeds, record_every, ntk_points, dtype)
    loaded = ntksym.load_spec(spec)
    (x_train, y_train), (x_test, y_test) = _load(train, "--train", loaded), _load(test, "--test", loaded)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise InputError(f"--train x and --test x have different example shapes {x_train.shape[1:]} and "
                         f"{x_test.shape[1:]}; they must match")
    if batch_size is not None and batch_size > len(x_train):
        raise InputError(f"--batch-size {batch_size} exceeds the {len(x_train)} training examples; give at most "
                         f"{len(x_train)}, or leave it out for full batch")
    for array, what in ((x_train, "--train: x"), (x_test, "--test: x"), (y_train, "--train: y"), (y_test, "--test: y")):
        check_range(np.asarray(array, np.float64).reshape(len(array), -1), dtype, what)
    from ntksym.runtime.linearized import compare_linearized

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bars:
        report = compare_linearized(
            loaded, x_train, y_train, x_test, y_test, widths=sizes, steps=steps, learning_rate=learning_rate,
            loss=loss, optimizer=optimizer, momentum=momentum, batch_size=batch_size, seeds=seeds,
            record_every=record_every, ntk_points=ntk_points, x64=x64, key=seed, progress=RichProgress(bars))
    if not (np.isfinite(report.network.train_loss).all() and np.isfinite(report.linearized.train_loss).all()):
        raise NumericalError(f"training diverged at learning rate {report.learning_rate[0]:.4g} (the maximal stable "
                             f"rate of plain descent is {report.max_stable_learning_rate[0]:.4g}); use a smaller --lr")
    paths = report.save(output)
    typer.echo(report.text())
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
