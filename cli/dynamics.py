"""`ntksym dynamics SPEC --train train.npz --test test.npz --t 0,1,10,inf -o pred.npz`: training dynamics."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import ntksym
from ntksym.cli.common import SpecArg, X64Opt, check_output, dtype_of, load_npz, save_npz
from ntksym.errors import InputError, NumericalError
from ntksym.runtime.data import check_inputs, check_range, representable


def parse_times(text: str) -> np.ndarray:
    """'0,0.5,5,inf' -> array; every entry a number >= 0 or inf."""
    times = []
    for item in text.split(","):
        item = item.strip()
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"--t: {item!r} is not a number; give times like 0,0.5,5,50,inf") from None
        if math.isnan(value) or value < 0:
            raise InputError(f"--t: {item!r} is not a time >= 0; give times like 0,0.5,5,50,inf")
        times.append(value)
    return np.asarray(times)


def _array(data: dict[str, np.ndarray], key: str, what: str, path: Path) -> np.ndarray:
    if key not in data:
        raise InputError(f"{what}: {path} has no array `{key}` (it has {', '.join(data) or 'none'}); "
                         f"save it with numpy.savez(path, x=..., y=...)")
    array = data[key]
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{what}: array `{key}` of {path} must hold real numbers, got {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{what}: array `{key}` of {path} must hold finite numbers (found NaN or infinity)")
    return array


AbsoluteOpt = Annotated[bool, typer.Option("--diag-reg-absolute", help="--diag-reg in absolute units.")]
KernelOpt = Annotated[str, typer.Option("--kernel", help="ntk (train all layers), nngp (readout only), both "
                                                         "(the two from one kernel evaluation; keys ntk_*, nngp_*) "
                                                         "or ntkgp (the NTK-GP posterior, --t inf only).")]
LossOpt = Annotated[str, typer.Option("--loss", help="mse, or cross_entropy (softmax over the outputs; y one-hot "
                                                     "(n, classes) or labels (n,)).")]
MomentumOpt = Annotated[float | None, typer.Option("--momentum", help="Heavy-ball momentum in [0, 1).")]
NtkOpt = Annotated[str, typer.Option("--ntk", help="With --loss/--momentum: infinite (the spec's NTK) or empirical "
                                                   "(one finite network's NTK, its linearised training).")]
NoCovOpt = Annotated[bool, typer.Option("--no-cov", help="Means and losses only: skip the test-test kernel and "
                                                         "the covariance.")]
DiagRegOpt = Annotated[float, typer.Option("--diag-reg", help="Added to the train kernel's diagonal, times "
                                                             "its mean diagonal unless --diag-reg-absolute.")]


def dynamics(
    spec: SpecArg,
    train: Annotated[Path, typer.Option("--train", help="Training .npz: x (n, ...), y (n, k); or a dataset name (digits, mnist1d).")],
    test: Annotated[Path, typer.Option("--test", help="Test .npz: x (m, ...), optional y (m, k).")],
    t: Annotated[str, typer.Option("--t", help="Times, comma-separated; `inf` for the end of training.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .npz: t, mean, cov, losses.")],
    kernel: KernelOpt = "ntk",
    learning_rate: Annotated[float, typer.Option("--learning-rate", help="Learning rate eta.")] = 1.0,
    steps: Annotated[bool, typer.Option("--steps", help="Discrete GD: --t counts steps.")] = False,
    diag_reg: DiagRegOpt = 0.0,
    diag_reg_absolute: AbsoluteOpt = False,
    no_cov: NoCovOpt = False,
    x64: X64Opt = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write the loss curves as a PNG.")] = None,
    loss: LossOpt = "mse",
    momentum: MomentumOpt = None,
    ntk: NtkOpt = "infinite",
    width: Annotated[int | None, typer.Option("--width", help="Hidden width of the --ntk empirical network.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Weight seed of the --ntk empirical network.")] = 0,
) -> None:
    """Mean and covariance of the infinite ensemble trained by gradient descent (Lee et al. 2019).

    Example: ntksym dynamics specs/relu_mlp.yaml --train train.npz --test test.npz --t 0,1,10,inf -o pred.npz

    --kernel both writes t and, for each kernel, ntk_mean, ntk_cov, ntk_train_loss, ntk_test_loss,
    ntk_max_learning_rate (and nngp_*); --no-cov leaves out the covariance.

    --loss cross_entropy and/or --momentum M (or --ntk empirical) train the outputs in function space
    (no covariance; --t finite): writes t, train_mean (T, n, k), mean (T, m, k), train_loss, test_loss.
    """
    from ntksym.runtime.dynamics import Predictions, predict  # jax: imported when the command runs

    check_output(output, ".npz")
    if plot is not None:
        check_output(plot, ".png", "--plot")
    if kernel not in ("ntk", "nngp", "both", "ntkgp"):
        raise InputError(f"--kernel must be ntk, nngp, both or ntkgp, got {kernel!r}")
    general = _check_general(loss, momentum, ntk, width, kernel, diag_reg, plot)
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise InputError(f"--learning-rate must be a positive finite number, got {learning_rate:g}")
    if not (math.isfinite(diag_reg) and diag_reg >= 0):
        raise InputError(f"--diag-reg must be a finite number >= 0, got {diag_reg:g}")
    times = parse_times(t)
    for value, option in ((learning_rate, "--learning-rate"), (diag_reg, "--diag-reg"), *((v, "--t") for v in times)):
        if math.isfinite(value) and (why := representable(float(value), dtype_of(x64))):
            raise InputError(f"{option}: {why}" + ("; write inf for the end of training" if option == "--t" else ""))
    loaded = ntksym.load_spec(spec)
    train_data, test_data = load_npz(train, "--train", one_hot=True), load_npz(test, "--test", one_hot=True)
    x_train, y_train = _array(train_data, "x", "--train", train), _array(train_data, "y", "--train", train)
    x_test = _array(test_data, "x", "--test", test)
    y_test = _array(test_data, "y", "--test", test) if "y" in test_data else None
    x_train, x_test = check_inputs(x_train, loaded, "--train: x"), check_inputs(x_test, loaded, "--test: x")
    if y_train.ndim not in (1, 2) or y_train.shape[0] != x_train.shape[0]:
        raise InputError(f"--train: y has shape {y_train.shape} but x holds {x_train.shape[0]} examples; "
                         "y must be (n,) or (n, outputs)")
    if y_test is not None and (y_test.ndim not in (1, 2) or y_test.shape[0] != x_test.shape[0]):
        raise InputError(f"--test: y has shape {y_test.shape} but x holds {x_test.shape[0]} examples")
    for y, what in ((y_train, "--train"), (y_test, "--test")):
        if y is not None and y.ndim == 2 and y.shape[1] == 0:
            raise InputError(f"{what}: y has shape {y.shape}, no outputs; give y of shape (n,) or (n, outputs)")
    for array, what in ((x_train, "--train: x"), (x_test, "--test: x"), (y_train, "--train: y"), (y_test, "--test: y")):
        if array is not None:
            check_range(np.asarray(array, np.float64).reshape(len(array), -1), dtype_of(x64), what)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise InputError(f"--train x and --test x have different example shapes {x_train.shape[1:]} and "
                         f"{x_test.shape[1:]}; they must match")
    model = ntksym.compile(loaded, dtype=dtype_of(x64))
    if general:
        _train_general(model, x_train, y_train, x_test, y_test, times, output, loss=loss, momentum=momentum,
                       ntk=ntk, width=width, seed=seed, learning_rate=learning_rate, steps=steps)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = predict(model, x_train, y_train, x_test, times, kernel=kernel, learning_rate=learning_rate,
                         discrete=steps, diag_reg=diag_reg, diag_reg_absolute=diag_reg_absolute,
                         y_test=y_test, cov=not no_cov)
    parts = {"nngp": result.nngp, "ntk": result.ntk} if isinstance(result, Predictions) else {kernel: result}
    for part in parts.values():
        _check_finite(part, learning_rate)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    arrays = {"t": times}
    for name, part in parts.items():
        arrays.update(_arrays(part, f"{name}_" if kernel == "both" else ""))
    save_npz(output, **arrays)
    for name, part in parts.items():
        cov = "no covariance" if part.cov is None else f"cov {part.cov.shape}"
        typer.echo(f"wrote {output}: {'' if kernel != 'both' else name + '_'}mean {part.mean.shape}, {cov} at "
                   f"{len(times)} times ({name}, {model.dtype}); max stable learning rate "
                   f"{part.max_learning_rate:.6g}")
    for name, part in parts.items():
        last = "; ".join(f"{which} loss {loss[-1]:.4g}" for which, loss in
                         (("train", part.train_loss), ("test", part.test_loss)) if loss is not None)
        typer.echo(f"at t = {times[-1]:g}: {last}" + (f" ({name})" if kernel == "both" else ""))
    if plot is not None:
        from ntksym.plots.dynamics import plot_loss_curves

        label = "NTK and NNGP" if kernel == "both" else kernel.upper()
        plot_loss_curves(result, plot, title=f"{loaded.name}: {label} dynamics", steps=steps)
        typer.echo(f"wrote {plot}")


def _check_finite(result, learning_rate: float) -> None:
    """Overflowed predictions are an error, not a file of infinities."""
    losses = [loss for loss in (result.train_loss, result.test_loss) if loss is not None]
    if not (np.isfinite(result.mean).all() and (result.cov is None or np.isfinite(result.cov).all())
            and all(np.isfinite(loss).all() for loss in losses)):
        raise NumericalError(
            f"the predictions overflowed: gradient descent at --learning-rate {learning_rate:g} diverges "
            f"(the maximal stable rate is {result.max_learning_rate:.6g}); use a smaller --learning-rate")


def _arrays(result, prefix: str) -> dict[str, np.ndarray]:
    """The output arrays of one kernel: mean, cov (unless --no-cov), losses, max_learning_rate."""
    arrays = {"mean": result.mean, "cov": result.cov, "train_loss": result.train_loss,
              "test_loss": result.test_loss, "max_learning_rate": np.asarray(result.max_learning_rate)}
    return {prefix + key: value for key, value in arrays.items() if value is not None}


def _check_general(loss, momentum, ntk, width, kernel, diag_reg, plot) -> bool:
    """True when the run needs the general trainer (--loss other than mse, --momentum, --ntk empirical)."""
    from ntksym.runtime.dynamics_loss import LOSSES, NTK_SOURCES

    if loss not in LOSSES:
        raise InputError(f"--loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if ntk not in NTK_SOURCES:
        raise InputError(f"--ntk must be infinite or empirical, got {ntk!r}")
    if momentum is not None and not (0 <= momentum < 1):
        raise InputError(f"--momentum must be in [0, 1), got {momentum:g}")
    if width is not None and (ntk != "empirical" or width < 1):
        raise InputError("--width sets the hidden width of the --ntk empirical network; give --ntk empirical "
                         "and a width >= 1")
    general = loss != "mse" or momentum is not None or ntk == "empirical"
    if not general:
        return False
    what = f"--loss {loss}" if loss != "mse" else ("--momentum" if momentum is not None else "--ntk empirical")
    if kernel != "ntk":
        raise InputError(f"{what} trains with the NTK: drop --kernel {kernel} (--kernel needs --loss mse "
                         "without --momentum)")
    if diag_reg != 0:
        raise InputError(f"--diag-reg applies to --loss mse without --momentum; drop it with {what}")
    if plot is not None:
        raise InputError(f"--plot draws the MSE ensemble's loss curves; drop it with {what}")
    return True


def _train_general(model, x_train, y_train, x_test, y_test, times, output, **options) -> None:
    from ntksym.runtime.dynamics_loss import train

    steps = options.pop("steps")
    if np.any(np.isinf(times)):
        raise InputError("--t: inf needs --loss mse without --momentum (cross-entropy has no finite limit); "
                         "give finite times")
    result = train(model, x_train, y_train, x_test, times, discrete=steps, y_test=y_test, **options)
    assert result.test is not None  # x_test was given
    if not (np.isfinite(result.train).all() and np.isfinite(result.test).all()):
        raise NumericalError(f"the outputs overflowed at --learning-rate {options['learning_rate']:g}; "
                             "use a smaller --learning-rate")
    arrays = {"t": times, "mean": result.test, "train_mean": result.train, "train_loss": result.train_loss}
    if result.test_loss is not None:
        arrays["test_loss"] = result.test_loss
    save_npz(output, **arrays)
    typer.echo(f"wrote {output}: mean {result.test.shape}, train_mean {result.train.shape} at {len(times)} "
               f"{'steps' if steps else 'times'} (loss {result.loss}, momentum {result.momentum}, "
               f"{options['ntk']} NTK)")
    last = f"train loss {result.train_loss[-1]:.4g}"
    if result.test_loss is not None:
        last += f"; test loss {result.test_loss[-1]:.4g}"
    typer.echo(f"at t = {times[-1]:g}: {last}")
