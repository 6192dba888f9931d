"""`ntksym validate SPEC`: check a spec and print a summary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import typer

from ntksym.cli.common import SpecArg
from ntksym.layers import describe_layers
from ntksym.spec.load import load_spec


def validate(spec: SpecArg) -> None:
    """Check a spec against the format and print what it describes.

    Example: ntksym validate specs/relu_mlp.yaml
    """
    loaded = load_spec(spec)
    typer.echo(f"{spec}: valid spec `{loaded.name}` ({loaded.parameterization} parameterization)")
    if loaded.description:
        typer.echo(f"  {loaded.description}")
    typer.echo(f"  layers: {describe(loaded.layers)}")
    if loaded.input_shape:
        typer.echo(f"  input shape: {list(loaded.input_shape)}")
    if loaded.hyperparameters:
        typer.echo("  hyperparameters: " + ", ".join(f"{k} = {v:g}" for k, v in loaded.hyperparameters))
    typer.echo(f"  sha256: {loaded.sha256}")


def describe(layers: Iterable[Any]) -> str:
    return describe_layers(layers)
