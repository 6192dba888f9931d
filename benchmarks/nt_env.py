"""A separate virtual environment holding neural-tangents 0.6.5, for comparisons only.

neural-tangents is archived and does not import on current JAX, so it is never a dependency of ntksym:
the benchmarks build `benchmarks/.nt-env` (git-ignored) with jax 0.4.26 on first use and run reference
code there in a subprocess. `run_in_nt_env(code)` runs a script that prints one JSON object as its last
line of output and returns that object.

    python benchmarks/nt_env.py        # build (or check) the environment and print its versions
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ENV_DIR = Path(__file__).resolve().parent / ".nt-env"
PINS = ["jax==0.4.26", "jaxlib==0.4.26", "numpy<2", "scipy<1.13", "frozendict"]
NT = "neural-tangents==0.6.5"
STAMP = ENV_DIR / ".ready"


def python() -> Path:
    return ENV_DIR / "bin" / "python"


def _pip(*args: str) -> None:
    subprocess.run([str(python()), "-m", "pip", "install", "--quiet", *args], check=True)


def _disable_experimental() -> None:
    """neural_tangents/__init__.py imports `experimental`, which needs tensorflow: comment it out."""
    out = subprocess.run(
        [
            str(python()),
            "-c",
            "import importlib.util as u; print(u.find_spec('neural_tangents').submodule_search_locations[0])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    init = Path(out) / "__init__.py"
    text = init.read_text()
    line = "from . import experimental"
    if f"# {line}" not in text:
        init.write_text(text.replace(line, f"# {line}"))


def ensure_env() -> Path:
    """Create `benchmarks/.nt-env` with neural-tangents 0.6.5 unless it is ready; return its python."""
    if STAMP.exists():
        return python()
    venv.EnvBuilder(with_pip=True, clear=ENV_DIR.exists()).create(ENV_DIR)
    _pip(*PINS)
    _pip("--no-deps", NT)
    _disable_experimental()
    STAMP.write_text(NT + "\n")
    return python()


def run_in_nt_env(code: str, timeout: float | None = None) -> dict:
    """Run `code` with the neural-tangents environment's python; return the JSON of its last stdout line.

    Raises `subprocess.TimeoutExpired` past `timeout` seconds and `RuntimeError` when the script fails.
    """
    exe = ensure_env()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.setdefault("JAX_PLATFORMS", "cpu")
    done = subprocess.run([str(exe), "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"neural-tangents script failed:\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("neural-tangents script printed nothing")
    return json.loads(lines[-1])


def main() -> None:
    info = run_in_nt_env(
        "import json, jax, neural_tangents as nt; "
        "print(json.dumps({'jax': jax.__version__, 'neural_tangents': nt.__version__}))"
    )
    print(f"{ENV_DIR}: {info}")


if __name__ == "__main__":
    sys.exit(main())
