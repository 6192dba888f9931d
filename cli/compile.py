"""`ntksym compile SPEC -o module.py`: write the generated JAX module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import ntksym
from ntksym.cli.common import SpecArg, X64Opt, check_output, dtype_of
from ntksym.codegen.emit import emit_module
from ntksym.codegen.load import parse_checked
from ntksym.files import write_atomic


def compile(
    spec: SpecArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the module, e.g. relu_kernel.py.")],
    x64: X64Opt = False,
) -> None:
    """Generate a standalone module (needs only jax and numpy) with `kernel(x1, x2=None, **hyperparameters)`.

    Example: ntksym compile specs/relu_mlp.yaml -o relu_kernel.py
    """
    check_output(output, ".py")
    loaded = ntksym.load_spec(spec)
    text = parse_checked(emit_module(ntksym.derive(loaded), dtype_of(x64)))
    write_atomic(output, text)
    typer.echo(f"wrote {output} ({len(text.splitlines())} lines, {dtype_of(x64)}, spec sha256 {loaded.sha256[:12]})")
