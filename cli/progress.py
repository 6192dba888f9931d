"""A rich progress bar for tiled work, shown only when there is more than one tile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def tile_progress(description: str = "kernel tiles") -> Iterator[Callable[[int, int], None]]:
    """Yields a `progress(done, total)` callback; the bar appears on stderr at the first multi-tile call."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        if total <= 1:
            return
        if "bar" not in state:
            bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
