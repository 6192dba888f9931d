"""`ntksym validate SPEC`: check a spec and print a summary."""

from __future__ import annotations

import typer

from ntksym.cli.common import SpecArg
from ntksym.spec import load_spec
from ntksym.spec import schema as s


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


def describe(layers) -> str:
    parts = []
    for layer in layers:
        if isinstance(layer, s.Repeat):
            parts.append(f"{layer.count} x [{describe(layer.layers)}]")
        elif isinstance(layer, s.Residual):
            parts.append(f"residual[{describe(layer.layers)}]")
        elif isinstance(layer, s.Activation):
            parts.append(layer.name if layer.name != "expr" else f"expr({layer.expr})")
        elif isinstance(layer, s.Dense):
            parts.append("dense" + (f"({layer.width})" if layer.width is not None else ""))
        else:
            parts.append(layer.path.rsplit(".", 1)[-1])
    return ", ".join(parts)
