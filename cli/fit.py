"""`ntksym fit SPEC --train train.npz -o fitted.yaml`: hyperparameters that maximise the GP marginal likelihood."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import ntksym
from ntksym.cli.common import SpecArg, check_output, load_npz
from ntksym.cli.dynamics import _array
from ntksym.cli.progress import tile_progress
from ntksym.errors import InputError
from ntksym.files import write_atomic


def fit_command(
    spec: SpecArg,
    train: Annotated[Path, typer.Option("--train", help=".npz: x (n, ...), y (n,) labels or (n, k); or a dataset name (digits, mnist1d).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The fitted spec (.yaml).")],
    test: Annotated[Path | None, typer.Option("--test", help=".npz with x, y, or a dataset name: test accuracy before and after.")] = None,
    kernel: Annotated[str, typer.Option("--kernel", help="nngp (the NNGP's GP) or ntk (the NTK-GP).")] = "nngp",
    params: Annotated[str | None, typer.Option("--params", help="Hyperparameters to fit (default: all but counts).")] = None,
    noise: Annotated[float | None, typer.Option("--noise", help="Fix the relative noise (default: fitted from 1e-3).")] = None,
    method: Annotated[str, typer.Option("--method", help="bfgs or adam (the likelihood objective).")] = "bfgs",
    objective: Annotated[str, typer.Option("--objective", help="likelihood (GP log marginal likelihood) or "
                                           "cv_accuracy (k-fold cross-validated accuracy, class labels).")] = "likelihood",
    folds: Annotated[int, typer.Option("--folds", help="Folds of the cv_accuracy objective.")] = 5,
    steps: Annotated[int, typer.Option("--steps", help="Iterations at most.")] = 200,
    report: Annotated[Path | None, typer.Option("--report", help="Also write the values and likelihoods as JSON.")] = None,
) -> None:
    """Fit the spec's hyperparameters (and a noise level) to training data by maximising the Gaussian-process
    log marginal likelihood, with gradients through the generated kernel (or, with --objective cv_accuracy, the
    cross-validated classification accuracy by a coordinate search); write the fitted spec.
    Example: ntksym fit specs/relu_mlp.yaml --train train.npz --test test.npz -o fitted.yaml
    """
    # jax: imported when the command runs
    from ntksym.runtime.hyperfit import KERNELS, METHODS, OBJECTIVES, accuracy, fit, fit_cv_accuracy

    objective = objective.replace("-", "_")
    if objective not in OBJECTIVES:
        raise InputError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if kernel not in KERNELS:
        raise InputError(f"--kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= steps <= 100_000:
        raise InputError(f"--steps must be between 1 and 100000, got {steps}")
    check_output(output, ".yaml")
    if report is not None:
        check_output(report, ".json", "--report")
    model_spec = ntksym.load_spec(spec)
    data = load_npz(train, "--train")
    x, y = _array(data, "x", "--train", train), _array(data, "y", "--train", train)
    names = None if params is None else [name.strip() for name in params.split(",") if name.strip()]
    what = f"{kernel} marginal likelihood, {method}" if objective == "likelihood" else f"{folds}-fold {kernel} CV accuracy"
    typer.echo(f"fitting {', '.join(names) if names else 'all continuous hyperparameters'} of `{model_spec.name}` "
               f"to {len(x)} examples ({what})...", err=True)
    if objective == "likelihood":
        result = fit(model_spec, x, y, kernel=kernel, names=names, noise=noise, method=method, steps=steps,
                     text=Path(spec).read_text())
    else:
        with tile_progress("candidates") as progress:
            result = fit_cv_accuracy(model_spec, x, y, kernel=kernel, names=names, noise=noise, folds=folds,
                                     text=Path(spec).read_text(), progress=progress)
    width = max(len(name) for name in result.values)
    for name, value in result.values.items():
        typer.echo(f"  {name:<{width}}  {result.start[name]:.6g} -> {value:.6g}")
    if objective == "cv_accuracy":
        typer.echo(f"{folds}-fold CV accuracy: {100 * result.start_cv_accuracy:.2f} % -> {100 * result.cv_accuracy:.2f} %")
    typer.echo(f"log marginal likelihood: {result.start_log_likelihood:.6g} -> {result.log_likelihood:.6g}")
    doc = result.to_dict()
    if test is not None:
        test_data = load_npz(test, "--test")
        x_test, y_test = _array(test_data, "x", "--test", test), _array(test_data, "y", "--test", test)
        before = accuracy(model_spec, x, y, x_test, y_test, result.start, kernel)
        after = accuracy(result.spec, x, y, x_test, y_test, result.values, kernel)
        typer.echo(f"test accuracy: {100 * before:.2f} % -> {100 * after:.2f} %")
        doc["test_accuracy"] = {"start": before, "fitted": after}
    assert result.spec_text is not None  # the spec's text was given
    write_atomic(output, result.spec_text)
    typer.echo(f"wrote {output}")
    if report is not None:
        write_atomic(report, json.dumps(doc, indent=2) + "\n")
        typer.echo(f"wrote {report}")

