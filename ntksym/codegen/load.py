"""Write generated modules atomically, cache them, and import them.

The cache key is the spec's SHA-256, the dtype, the ntksym version and a fingerprint of the generator's
own source (so a changed generator never serves stale code). An entry is trusted only if it imports and
its recorded hash matches; otherwise it is rebuilt. Two processes compiling the same spec at once both
write complete files to private temporary names and rename them into place: the last rename wins and
readers never see a partial file.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from types import CodeType, ModuleType

from ntksym._version import __version__
from ntksym.errors import CodegenError
from ntksym.files import cache_dir, write_atomic, write_folder_atomic  # noqa: F401 (re-exported)
from ntksym.spec.schema import Spec

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def generator_fingerprint() -> str:
    """A hash of the source files that decide what a generated module contains."""
    digest = hashlib.sha256(__version__.encode())
    for folder in ("spec", "symbolic", "codegen", "layers"):
        for path in sorted((PACKAGE_ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_path(spec: Spec, dtype: str) -> Path:
    key = f"{spec.sha256[:16]}-{dtype}-{__version__}-{generator_fingerprint()}"
    return cache_dir() / f"{spec.name.replace('-', '_')}-{key}.py"


def parse_checked(text: str) -> str:
    """`text` if it compiles as Python, else a `CodegenError`: a generated module is never written unparsed.
    (Compiling checks more than `ast.parse` and is faster: it builds no Python-level syntax tree.)"""
    compiled_checked(text, "<generated>")
    return text


def compiled_checked(text: str, filename: str) -> CodeType:
    """The code object of `text` (see `parse_checked`), ready to run as the module in `filename`."""
    try:
        return compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, SyntaxError) else f" ({type(exc).__name__})"
        raise CodegenError(f"the generated module does not parse{where}, so nothing was written; this is a bug "
                           "in ntksym: please report it with the spec") from None


def import_module_file(path: Path, name: str, code: CodeType | None = None) -> ModuleType:
    """Import a generated module from a file (tracebacks then show its real lines); `code`: the file's text
    already compiled (`compiled_checked`), so that a module just written is not compiled twice.

    The module is not put in `sys.modules`: a process that compiles many specs must be able to free
    each one, and with it XLA's compiled programs (each holds its own memory mappings)."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None  # a .py path always has a loader
    module = importlib.util.module_from_spec(module_spec)
    if code is None:
        module_spec.loader.exec_module(module)
    else:
        exec(code, module.__dict__)  # noqa: S102  the code ntksym just generated and wrote to `path`
    return module


def load_or_build(spec: Spec, dtype: str, build: Callable[[], str]) -> tuple[ModuleType, Path]:
    """The cached module for (spec, dtype), built by `build()` (returns source text) when missing or bad."""
    path = cache_path(spec, dtype)
    name = f"ntksym_generated_{path.stem.replace('-', '_')}"
    if path.exists():
        try:
            module = import_module_file(path, name)
            if module.SPEC_SHA256 == spec.sha256 and module.NTKSYM_VERSION == __version__:
                return module, path
        except Exception:  # a corrupted or truncated entry: rebuild it below
            pass
    text = build()
    code = compiled_checked(text, str(path))
    write_atomic(path, text)
    return import_module_file(path, name, code), path
