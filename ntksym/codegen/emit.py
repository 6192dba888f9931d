"""Recursion -> the text of a standalone JAX module (the writers: codegen/writer.py and emit_spatial.py)."""

from __future__ import annotations

from ntksym.codegen.emit_spatial import SpatialModuleWriter, has_spatial_steps
from ntksym.codegen.text import comment_text, prelude_source  # noqa: F401 (re-exported)
from ntksym.codegen.writer import ModuleWriter
from ntksym.errors import CodegenError
from ntksym.symbolic.derivation import Recursion


def emit_module(derivation: Recursion, dtype: str = "float32") -> str:
    """The generated module's source text."""
    if dtype not in ("float32", "float64"):
        raise CodegenError(f"dtype must be float32 or float64, got {dtype!r}")
    writer = SpatialModuleWriter if has_spatial_steps(derivation) else ModuleWriter
    return writer(derivation, dtype).module()
