"""`ntksym derive SPEC`: the layerwise recursions, closed forms and how each was obtained."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

import ntksym
from ntksym.cli.common import SpecArg, check_output
from ntksym.files import write_atomic


class Format(str, Enum):
    text = "text"
    latex = "latex"
    json = "json"


def derive(
    spec: SpecArg,
    format: Annotated[Format, typer.Option("--format", "-f", help="text, latex or json.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Derive the NNGP/NTK recursion of every layer.

    Example: ntksym derive specs/relu_mlp.yaml --format latex
    """
    if output is not None:
        check_output(output)
    derivation = ntksym.derive(ntksym.load_spec(spec))
    if format is Format.json:
        # standard JSON: inf and nan are null, named in `nonfinite` (schema: `ntksym schema --derive`)
        text = json.dumps(derivation.to_dict(), indent=2, default=str, allow_nan=False)
    elif format is Format.latex:
        text = derivation.latex()
    else:
        text = derivation.text()
    if output is None:
        typer.echo(text)
    else:
        write_atomic(output, text + "\n")
        typer.echo(f"wrote {output}")
