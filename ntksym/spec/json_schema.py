"""JSON Schema (draft 2020-12) of the spec format, built from the same tables the validator uses."""

from __future__ import annotations

from typing import Any

from ntksym.activations import ACTIVATIONS
from ntksym.layers import LAYERS
from ntksym.spec.fields import PADDINGS, REQUIRED, Field

_NUMBER = {"oneOf": [{"type": "number"}, {"type": "string", "description": "a hyperparameter name"}]}
_COUNT = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}
_SHAPE = {"oneOf": [{"type": "integer", "minimum": 1},
                    {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 2}]}


def _field_schema(spec_field: Field) -> dict:
    kinds: dict[str, dict[str, Any]] = {
        "real": _NUMBER,
        "nonneg": _NUMBER,
        "optional_nonneg": {"oneOf": [*_NUMBER["oneOf"], {"type": "null"}]},
        "count": _COUNT,
        "degree": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
        "shape": _SHAPE,
        "padding": {"enum": list(PADDINGS)},
        "real_list": {"type": "array", "items": _NUMBER, "minItems": 1},
        "layers": {"$ref": "#/$defs/layers"},
        "paths": {"type": "array", "minItems": 1,
                  "items": {"oneOf": [{"type": "array", "maxItems": 0}, {"$ref": "#/$defs/layers"}]}},
        "choice": {"enum": list(spec_field.choices)},
    }
    kinds["bool"] = {"type": "boolean"}
    out = dict(kinds[spec_field.kind])
    if spec_field.minimum is not None or spec_field.maximum is not None:
        number: dict[str, Any] = {"type": "number"}
        if spec_field.minimum is not None:
            number["exclusiveMinimum" if spec_field.exclusive_minimum else "minimum"] = spec_field.minimum
        if spec_field.maximum is not None:
            number["maximum"] = spec_field.maximum
        out = {"oneOf": [number, _NUMBER["oneOf"][1]]}
    if spec_field.help:
        out["description"] = spec_field.help
    if spec_field.default is not REQUIRED and spec_field.default is not None:
        out["default"] = spec_field.default
    return out


def _object(fields: dict[str, Field], extra: dict | None = None) -> dict:
    properties = {name: _field_schema(f) for name, f in fields.items()}
    properties.update(extra or {})
    required = [name for name, f in fields.items() if f.default is REQUIRED and f.kind != "layers"]
    required += [name for name, f in fields.items() if f.kind == "layers"]
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _activation_schema() -> dict:
    named = [{"type": "object", "properties": {"name": {"const": name}, **{k: _field_schema(f) for k, f in fields.items()}},
              "required": ["name"] + [k for k, f in fields.items() if f.default is REQUIRED],
              "additionalProperties": False} for name, fields in ((n, e.params) for n, e in ACTIVATIONS.items())]
    expr = {"type": "object", "properties": {"expr": {"type": "string", "maxLength": 4096}},
            "required": ["expr"], "additionalProperties": False}
    return {"oneOf": [{"enum": list(ACTIVATIONS)}, expr, *named]}


def json_schema() -> dict:
    layer_options = []
    for kind, fields in ((key, layer.fields) for key, layer in LAYERS.items()):
        if kind == "repeat":
            layer_options.append(_object(fields))
        elif kind == "activation":
            layer_options.append({"type": "object", "properties": {"activation": _activation_schema()},
                                  "required": ["activation"], "additionalProperties": False})
        else:
            body = _object(fields) if fields else {"type": ["object", "null"], "additionalProperties": False}
            layer_options.append({"type": "object", "properties": {kind: body}, "required": [kind],
                                  "additionalProperties": False})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ntksym architecture spec, version 1",
        "type": "object",
        "required": ["ntksym", "name", "layers"],
        "additionalProperties": False,
        "properties": {
            "ntksym": {"const": 1},
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            "description": {"type": "string"},
            "parameterization": {"enum": ["ntk", "standard"], "default": "ntk"},
            "input_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            "hyperparameters": {"type": "object", "additionalProperties": {"type": "number"},
                                "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"}},
            "layers": {"$ref": "#/$defs/layers"},
        },
        "$defs": {"layers": {"type": "array", "minItems": 1, "items": {"oneOf": layer_options}}},
    }
