"""Shared fixtures: a private module cache per test session, float64 available everywhere."""

from __future__ import annotations

import gc
import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

# The suite compiles about a thousand small XLA programs: LLVM's cheap passes suffice for its tiny inputs, and
# XLA's loop emitters (which ntksym already asks for on spatial and quadrature kernels, codegen/writer.py) compile
# the rest faster too: together they cut the suite's time by a third. An XLA flag unknown to the installed jaxlib
# aborts the process, so the emitter flag is given only to the jaxlib release it was measured with. Level 1,
# not 0, of XLA's backend optimisation: with the loop emitters level 0 miscompiles the gradient of a conv kernel
# with respect to its inputs (jaxlib 0.10.2; tests/test_xla_options.py fails with it).
_FAST_COMPILE = ["--xla_backend_optimization_level=1", "--xla_llvm_disable_expensive_passes=true"]
if version("jaxlib").split(".")[:2] == ["0", "10"]:
    _FAST_COMPILE.append("--xla_cpu_use_fusion_emitters=false")
    # one LLVM module per program, not pieces compiled in parallel: two test workers already fill the cores,
    # and the pieces cost 10-20 % more processor time in all
    _FAST_COMPILE.append("--xla_cpu_parallel_codegen_split_count=1")
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), *(f for f in _FAST_COMPILE if f not in os.environ.get("XLA_FLAGS", ""))]
).strip()

import jax  # noqa: E402 (after XLA_FLAGS, which the backend reads when it starts)
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
os.environ.setdefault("NTKSYM_CACHE_DIR", tempfile.mkdtemp(prefix="ntksym-test-cache-"))

DATA = Path(__file__).parent / "data"

# The longest test files, longest first: run first, they leave short files to fill the pytest-xdist workers'
# last minutes (with `--dist loadfile` a worker takes whole files in collection order)
LONG_FILES = ("test_reference.py", "test_layer_branches.py", "test_fit.py", "test_quadrature.py", "test_processes.py",
              "test_mehler.py", "test_empirical_spatial.py", "test_sklearn.py", "test_dynamics_cli.py", "test_specs.py")


def pytest_collection_modifyitems(items):
    order = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: order.get(item.path.name, len(LONG_FILES)))  # stable: file order kept otherwise


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
