"""Shared fixtures: a private module cache per test session, float64 available everywhere."""

from __future__ import annotations

import gc
import json
import os
import tempfile
from pathlib import Path

import jax
import pytest

jax.config.update("jax_enable_x64", True)
os.environ.setdefault("NTKSYM_CACHE_DIR", tempfile.mkdtemp(prefix="ntksym-test-cache-"))

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Drop XLA's compiled programs after each test file.

    Every compiled program keeps its own memory mappings; a whole suite's worth of them exceeds the
    kernel's per-process limit (vm.max_map_count, 65530), and XLA then crashes while compiling."""
    yield
    jax.clear_caches()
    gc.collect()


ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def reference_cases() -> list[dict]:
    """Kernels computed by neural-tangents 0.6.5 (see ../shared/reference/README.md)."""
    return json.loads((DATA / "nt_reference_public.json").read_text())["cases"]


def spec_text(layers_yaml: str, *, name: str = "test", extra: str = "") -> str:
    """A spec document around a YAML `layers:` body (indented by two spaces)."""
    return f"ntksym: 1\nname: {name}\n{extra}layers:\n{layers_yaml}"
