"""`ntksym.compile`: derive, generate, cache and import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ntksym.codegen.emit import emit_module
from ntksym.codegen.load import load_or_build
from ntksym.errors import InputError
from ntksym.runtime.data import check_spec_numbers
from ntksym.spec.schema import Spec
from ntksym.symbolic.derivation import derive_recursion

if TYPE_CHECKING:
    from ntksym.runtime.kernel import CompiledModel

DTYPES = ("float32", "float64")


def compile_spec(spec: Spec, dtype: str = "float32") -> CompiledModel:
    """Generate (or fetch from the cache) and import the JAX module of `spec`."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    from ntksym.runtime.kernel import CompiledModel  # jax: imported when a spec is compiled, not with ntksym

    if dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    check_spec_numbers(spec, dtype)
    module, path = load_or_build(spec, dtype, lambda: emit_module(derive_recursion(spec), dtype))
    return CompiledModel(spec, module, dtype, path)
