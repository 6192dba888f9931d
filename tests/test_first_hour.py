"""What a new user meets first: --version, and an example in every command's --help."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from ntksym._version import __version__
from ntksym.cli.main import app


def test_every_command_has_help_with_an_example():
    commands = [c.name for c in app.registered_commands]
    assert {"validate", "derive", "compile", "kernel", "schema", "dynamics", "phase", "check"} <= set(commands)
    for command in commands:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.stdout, command


def test_version_from_the_script_and_from_python_m():
    assert CliRunner().invoke(app, ["--version"]).stdout.strip() == f"ntksym {__version__}"
    out = subprocess.run([sys.executable, "-m", "ntksym", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"ntksym {__version__}"
