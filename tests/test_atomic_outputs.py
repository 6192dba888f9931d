"""Every output is written whole or not at all: temporary name + rename, and nothing left after a failure."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import ntksym
from ntksym.files import write_folder_atomic

ROOT = Path(__file__).parent.parent
EXPLODING = """
ntksym: 1
name: exploding-memmap
layers:
  - repeat: 1000
    layers: [{dense: {w_std: 10.0}}, {activation: relu}]
  - dense: {}
"""


def test_an_overflowing_memmap_kernel_leaves_no_folder_and_no_temporary_files(tmp_path):
    model = ntksym.compile(ntksym.parse_spec(EXPLODING), dtype="float32")
    out = tmp_path / "kernels"
    with pytest.raises(ntksym.NumericalError):
        model.kernel(np.ones((6, 3)), tile_size=2, out=out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_memmap_kernel_into_an_existing_folder_keeps_only_the_final_files(tmp_path):
    model = ntksym.compile(ntksym.load_spec(ROOT / "specs" / "erf_mlp.yaml"), dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 8))
    k = model.kernel(x, tile_size=2, out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nngp.npy", "ntk.npy"]
    np.testing.assert_allclose(np.load(tmp_path / "ntk.npy"), model.kernel(x).ntk, rtol=1e-12)
    assert k.ntk.shape == (5, 5)


def test_a_failing_folder_writer_leaves_nothing(tmp_path):
    def write(target: Path) -> list[Path]:
        (target / "report.json").write_text("{}")
        raise RuntimeError("plotting failed")

    with pytest.raises(RuntimeError):
        write_folder_atomic(tmp_path / "report", write)
    assert list(tmp_path.iterdir()) == []


def test_a_new_folder_appears_whole(tmp_path):
    def write(target: Path) -> list[Path]:
        assert target != tmp_path / "report"  # filled under a temporary name
        for name in ("a.json", "b.png"):
            (target / name).write_text(name)
        return [target / "a.json", target / "b.png"]

    paths = write_folder_atomic(tmp_path / "report", write)
    assert paths == [tmp_path / "report" / "a.json", tmp_path / "report" / "b.png"]
    assert [p.read_text() for p in paths] == ["a.json", "b.png"] and [p.name for p in tmp_path.iterdir()] == ["report"]


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
            yield node


@pytest.mark.parametrize("folder", ["ntksym", "cli"])
def test_no_writer_bypasses_the_atomic_helpers(folder):
    """savefig only into a buffer; no direct np.save / write_text / write_bytes / open(..., 'w') on outputs."""
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text())
        for call in _calls(tree, "savefig"):
            if not (call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == "buffer"):
                offenders.append(f"{path.name}:{call.lineno} savefig")
        for name in ("save", "savez", "savez_compressed", "write_text", "write_bytes", "tofile"):
            for call in _calls(tree, name):
                target = call.args[0] if call.args else None
                owner = getattr(call.func.value, "id", "")
                if owner != "report" and not (isinstance(target, ast.Name) and target.id == "buffer"):  # report.save: atomic
                    offenders.append(f"{path.name}:{call.lineno} {name}")
    assert offenders == []
