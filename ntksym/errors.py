"""The error hierarchy. Every message says what was expected and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NtksymError(Exception):
    """Base class: the CLI turns these into one line on stderr."""

    exit_code = 1


class SpecError(NtksymError):
    """A spec (or user data) that breaks the format; exit code 2.

    `file`, `line` and `path` locate the problem: `relu.yaml:12: layers[2].dense.w_std: ...`.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, path: str = ""):
        self.message, self.file, self.line, self.path = message, file, line, path
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        return f"{where}{self.path + ': ' if self.path else ''}{self.message}"


class InputError(NtksymError):
    """Bad data or options given to a command (wrong shape, NaN, missing file); exit code 2."""

    exit_code = 2


class DerivationError(NtksymError):
    """A spec that is valid but cannot be derived (yet); exit code 2."""

    exit_code = 2


class CodegenError(NtksymError):
    """The code generator met an expression it cannot print; a bug, exit code 1."""


class NumericalError(NtksymError):
    """The computation diverged (overflow, NaN); exit code 1. The message suggests a remedy."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' Did you mean `relu`?' for the closest valid name, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
