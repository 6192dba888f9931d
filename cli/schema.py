"""`ntksym schema`: the JSON Schema of the spec format, for editors."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ntksym.reports.schema import derivation_json_schema
from ntksym.spec.json_schema import json_schema


def schema(
    derive: Annotated[bool, typer.Option("--derive", help="The schema of `ntksym derive --format json` instead.")] = False,
) -> None:
    """Print the JSON Schema of the spec format (point your editor's YAML plugin at it).

    Example: ntksym schema > ntksym.schema.json;  ntksym schema --derive > derive.schema.json
    """
    typer.echo(json.dumps(derivation_json_schema() if derive else json_schema(), indent=2))
