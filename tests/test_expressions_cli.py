"""Hostile expressions through the CLI: exit code 2, one line on stderr, and nothing executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ntksym.cli.main import app

HOSTILE = {
    "import": "__import__('os').system('touch {marker}')",
    "attribute": "x.__class__",
    "lambda": "(lambda: __import__('os').system('touch {marker}'))()",
    "tower": "x**10**10**10",
    "syntax": "x + * 2",
    "unknown": "open('{marker}', 'w')",
    "name": "y + 1",
}


def _spec(tmp_path: Path, expr: str) -> Path:
    path = tmp_path / "spec.yaml"
    quoted = expr.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        "ntksym: 1\nname: hostile\nlayers:\n  - dense: {w_std: 1.0}\n"
        f'  - activation: {{expr: "{quoted}"}}\n'
    )
    return path


@pytest.mark.parametrize("command", ["validate", "derive"])
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_expression_exits_2_with_one_line(tmp_path, capsys, command, kind):
    marker = tmp_path / "pwned"
    spec = _spec(tmp_path, HOSTILE[kind].format(marker=marker))
    with pytest.raises(SystemExit) as info:
        app([command, str(spec)])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {spec}:5: layers[1].activation.expr: ")
    assert not marker.exists()


@pytest.mark.slow  # 8 s, two processes; refused in-process above, the installed script runs in test_first_hour.py
def test_installed_cli_refuses_the_os_system_payload(tmp_path):
    marker = tmp_path / "pwned"
    spec = _spec(tmp_path, HOSTILE["import"].format(marker=marker))
    exe = Path(sys.executable).parent / "ntksym"
    for command in ("validate", "derive"):
        proc = subprocess.run([str(exe), command, str(spec)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "not allowed in an expression" in proc.stderr
        assert proc.stdout == ""
    assert not marker.exists()


def test_derive_shows_the_method_in_text_and_json(tmp_path, capsys):
    spec = _spec(tmp_path, "Piecewise((x, x > 0), (0.2*x, True))")
    with pytest.raises(SystemExit) as info:
        app(["derive", str(spec)])
    assert info.value.code == 0
    assert "[arc-cosine kernels: Cho & Saul 2009" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        app(["derive", str(spec), "--format", "json"])
    assert '"method": "arc-cosine kernels"' in capsys.readouterr().out


def test_derive_latex_names_the_method(tmp_path, capsys):
    spec = _spec(tmp_path, "x**3 - 0.5*x")
    with pytest.raises(SystemExit) as info:
        app(["derive", str(spec), "--format", "latex"])
    assert info.value.code == 0
    assert "[Wick moments]" in capsys.readouterr().out
