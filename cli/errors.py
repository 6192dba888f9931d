"""One clear line on stderr and the right exit code for every failure; tracebacks only with --debug."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 raises the exceptions of its own bundled copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer uses click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]  # the same module, unbundled

from ntksym.errors import NtksymError

OUT_OF_MEMORY = ("out of memory; use fewer or smaller inputs, smaller --widths, or "
                 "`ntksym kernel ... --memmap --tile-size N` for kernels larger than memory")


class OneLineErrors(TyperGroup):
    """A command group whose errors are one line: 2 for bad input, 1 for a failed computation."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            result = super().main(argv, prog_name or "ntksym", complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except click_exceptions.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `ntksym`: show the help
                typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
                sys.exit(0)
            command = f" {exc.ctx.command_path.split(' ', 1)[1]}" if exc.ctx and " " in exc.ctx.command_path else ""
            fail(f"{exc.format_message()} (see `ntksym{command} --help`)", 2)
        except typer.Abort:
            fail("aborted", 1)
        except NtksymError as exc:
            if debug:
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except MemoryError:
            if debug:
                raise
            fail(OUT_OF_MEMORY, 1)
        except Exception as exc:
            if debug:
                raise
            if "RESOURCE_EXHAUSTED" in str(exc) or "Out of memory" in str(exc):  # XLA's allocation failure
                fail(OUT_OF_MEMORY, 1)
            fail(f"internal error: {type(exc).__name__}: {exc}; rerun with --debug and report it", 1)
        sys.exit(result if isinstance(result, int) else 0)


def fail(message: str, code: int) -> None:
    first_line = " ".join(str(message).split())
    typer.echo(f"error: {first_line}", err=True)
    sys.exit(code)
