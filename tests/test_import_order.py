"""Every module imports on its own, whichever is imported first, and the modules have no import cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import import_cycles  # noqa: E402

FIRST_IMPORT = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ntksym" or m.startswith("ntksym.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc(limit=-3))
print("\\n".join(failed))
raise SystemExit(1 if failed else 0)
"""


def test_no_import_cycles_among_the_modules():
    found = import_cycles.modules()
    graph = {name: import_cycles.imports(path, name, set(found)) for name, path in found.items()}
    assert import_cycles.cycles(graph) == []
    assert len(found) > 100  # the tool sees the whole package (ntksym/ and cli/)


@pytest.mark.slow  # about 40 s: every module imported afresh
def test_each_module_imports_when_it_is_the_first_one_imported():
    names = sorted(name for name in import_cycles.modules() if name != "ntksym.__main__")
    run = subprocess.run([sys.executable, "-c", FIRST_IMPORT, *names], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_package_folder_is_installed():
    """pyproject.toml lists the packages by name: a new folder missing there would be absent from a wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"ntksym." + ".".join(p.parent.relative_to(ROOT / "ntksym").parts) if p.parent != ROOT / "ntksym"
               else "ntksym" for p in (ROOT / "ntksym").rglob("*.py")}
    folders |= {"ntksym.cli." + ".".join(p.parent.relative_to(ROOT / "cli").parts) if p.parent != ROOT / "cli"
                else "ntksym.cli" for p in (ROOT / "cli").rglob("*.py")}
    assert folders == listed


SPEC_COMMANDS = """
import sys
from typer.testing import CliRunner
from ntksym.cli.main import app
for args in (["validate", sys.argv[1]], ["derive", sys.argv[1]], ["schema"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
print(sorted(m for m in ("jax", "jaxlib") if m in sys.modules))
"""


def test_the_commands_that_read_a_spec_never_import_jax():
    """`ntksym validate`, `derive` and `schema` need the spec and SymPy only: not importing jax saves about
    1.3 s of each (the layer modules bind jax at first use, ntksym/lazy.py)."""
    spec = str(ROOT / "specs" / "cnn_flatten.yaml")
    done = subprocess.run([sys.executable, "-c", SPEC_COMMANDS, spec], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
