"""The `ntksym` Typer app: one command per module in this folder."""

from __future__ import annotations

from typing import Annotated

import typer

from ntksym._version import __version__
from ntksym.cli import check, derive, dispersion, dynamics, fit, kernel, linearize, phase, schema, validate
from ntksym.cli import compile as compile_cmd
from ntksym.cli.errors import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    name="ntksym",
    help="Derive NNGP / NTK recursions of a network spec and compile them to JAX.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ntksym {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """ntksym: exact NNGP and Neural Tangent Kernels of the network in a YAML spec.

    Start with: ntksym validate SPEC, ntksym derive SPEC, ntksym kernel SPEC --x1 x.npy -o k.npz
    """


app.command("validate")(validate.validate)
app.command("derive")(derive.derive)
app.command("compile")(compile_cmd.compile)
app.command("kernel")(kernel.kernel)
app.command("schema")(schema.schema)
app.command("dynamics")(dynamics.dynamics)
app.command("phase")(phase.phase)
app.command("check")(check.check)
app.command("dispersion")(dispersion.dispersion)
app.command("fit")(fit.fit_command)
app.command("linearize")(linearize.linearize)


def run() -> None:
    """Console-script entry point."""
    app()
