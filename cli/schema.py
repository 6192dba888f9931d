"""`ntksym schema`: the JSON Schema of the spec format, for editors."""

from __future__ import annotations

import json

import typer

from ntksym.spec.json_schema import json_schema


def schema() -> None:
    """Print the JSON Schema of the spec format (point your editor's YAML plugin at it).

    Example: ntksym schema > ntksym.schema.json
    """
    typer.echo(json.dumps(json_schema(), indent=2))
