"""`ntksym kernel SPEC --x1 A.npy [--x2 B.npy] -o K.npz`: NNGP and NTK on data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import ntksym
from ntksym.cli.common import SpecArg, X64Opt, check_output, dtype_of, load_array, save_npz


def kernel(
    spec: SpecArg,
    x1: Annotated[Path, typer.Option("--x1", help="Inputs (.npy, or .npz with one array / array `x`), shape (n1, ...).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .npz with arrays `nngp` and `ntk`.")],
    x2: Annotated[Path | None, typer.Option("--x2", help="Second inputs, shape (n2, ...); default: x1.")] = None,
    x64: X64Opt = False,
    show: Annotated[bool, typer.Option("--show", help="Also print the kernels.")] = False,
) -> None:
    """Evaluate the infinite-width NNGP and NTK between x1 and x2.

    Example: ntksym kernel specs/relu_mlp.yaml --x1 x.npy -o k.npz --x64
    """
    check_output(output)
    loaded = ntksym.load_spec(spec)
    a = load_array(x1, "--x1", key="x" if str(x1).endswith(".npz") else None)
    b = None if x2 is None else load_array(x2, "--x2", key="x" if str(x2).endswith(".npz") else None)
    model = ntksym.compile(loaded, dtype=dtype_of(x64))
    result = model.kernel(a, b)
    save_npz(output, nngp=result.nngp, ntk=result.ntk)
    typer.echo(f"wrote {output}: nngp and ntk of shape {result.nngp.shape} ({model.dtype})")
    if show:
        with np.printoptions(precision=5, suppress=True, linewidth=120):
            typer.echo(f"nngp =\n{result.nngp}\nntk =\n{result.ntk}")
