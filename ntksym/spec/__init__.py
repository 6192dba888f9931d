"""Spec stage: YAML text -> validated, immutable `Spec`.

  schema.py  the frozen dataclasses of a spec and its layers
  fields.py  field types and their validation, which each layer kind (ntksym/layers) declares its fields with
  load.py    `load_spec` / `parse_spec`: YAML -> Spec, through the layer registry
This package's own import loads nothing else (the layer kinds import schema and fields; load imports them):
`from ntksym.spec.load import load_spec`, or `ntksym.load_spec`.
"""
