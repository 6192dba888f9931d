"""Spec stage: YAML text -> validated, immutable `Spec`."""

from ntksym.spec.load import load_spec, parse_spec
from ntksym.spec.schema import Spec

__all__ = ["Spec", "load_spec", "parse_spec"]
