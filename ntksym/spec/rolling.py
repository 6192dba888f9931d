"""Runs of identical consecutive layers (or blocks of layers) rolled into `repeat` loops.

A spec that writes its layers out, `[dense, relu, dense, relu, ...]`, would otherwise be derived and
compiled layer by layer: compile time and memory grow with the depth (50 pairs took minutes and GBs). A
block of p layers repeated at least `MIN_RUN` times in a row becomes one `repeat` (its layers keep the
paths of the first copy, the repeat is marked `rolled`, and `derive` says so); the kernels are unchanged,
since `repeat` is defined as the layers written out. Layers compare by value, their paths aside.
"""

from __future__ import annotations

from ntksym.spec import schema as s

MIN_RUN = 3  # copies in a row before a block is rolled: short runs stay as written
MAX_PERIOD = 16  # the longest block looked for


def roll_runs(layers: tuple) -> tuple:
    """`layers` with every run of >= MIN_RUN identical consecutive blocks replaced by one rolled repeat."""
    out: list = []
    i, n = 0, len(layers)
    while i < n:
        best_count, best_period = 1, 1
        for period in range(1, min(MAX_PERIOD, (n - i) // MIN_RUN) + 1):
            block = layers[i : i + period]
            count = 1
            while i + (count + 1) * period <= n and layers[i + count * period : i + (count + 1) * period] == block:
                count += 1
            if count >= MIN_RUN and count * period > best_count * best_period:
                best_count, best_period = count, period
        if best_count >= MIN_RUN:
            body = layers[i : i + best_period]
            where = body[0].path.rsplit(".", 1)[0]  # "layers[4].dense" -> "layers[4]": the run's first position
            out.append(_folded(s.Repeat(count=best_count, layers=body, path=f"{where}.repeat", rolled=True)))
            i += best_count * best_period
        else:
            out.append(layers[i])
            i += 1
    return tuple(out)


def _folded(repeat: s.Repeat) -> s.Repeat:
    """A rolled repeat of a single repeat with a whole count is one repeat of the product of the counts."""
    inner = repeat.layers[0] if len(repeat.layers) == 1 else None
    if isinstance(inner, s.Repeat) and isinstance(inner.count, int) and isinstance(repeat.count, int):
        return s.Repeat(count=repeat.count * inner.count, layers=inner.layers, path=repeat.path, rolled=True)
    return repeat
