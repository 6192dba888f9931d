"""Written-out layers that differ only in their numbers, emitted as one loop over a table of the numbers.

Identical consecutive blocks are rolled into `repeat` when the spec loads (ntksym/spec/rolling.py). A spec
whose layers differ in their values (w_std changing from layer to layer, say) would still be traced and
compiled layer by layer, in time and memory that grow with the depth. Here a run of at least `MIN_RUN`
consecutive blocks of entrywise steps whose expressions agree once their floating-point constants are taken
out becomes one `lax.fori_loop` whose body reads those constants from a table row per copy: the arithmetic
is the same as the written-out code's, the compiled program holds one copy. Only floating-point constants
vary: a value whose square is a whole number (w_std = 2) derives as an exact integer and starts a new run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy as sp

from ntksym.layers import kind_of
from ntksym.layers.base import LayerKind
from ntksym.symbolic.steps import EntrywiseStep, Step

MIN_RUN = 3
MAX_PERIOD = 8
_FIELDS = ("nngp", "ntk", "nngp_diag", "ntk_diag", "gap")


@dataclass(frozen=True)
class VaryingRun:
    """`count` copies of a block of entrywise steps; copy i uses the numbers table[i] (symbol order)."""

    body: tuple[EntrywiseStep, ...]  # the first copy, its constants replaced by `symbols`
    symbols: tuple[sp.Symbol, ...]
    table: tuple[tuple[float, ...], ...]
    first_path: str
    last_path: str


def _constants(step: EntrywiseStep) -> list[sp.Float]:
    """The step's distinct floating-point constants, in the order they first appear."""
    found: list[sp.Float] = []
    for name in _FIELDS:
        expr = getattr(step, name)
        if expr is not None:
            for node in sp.preorder_traversal(expr):
                if isinstance(node, sp.Float) and node not in found:
                    found.append(node)
    return found


def _shape(step: Step) -> tuple | None:
    """What must agree between copies: the step's expressions with slots for its constants; None for steps
    this does not roll (anything but a plain entrywise layer)."""
    if type(step) is not EntrywiseStep or type(kind_of(step)).emit is not LayerKind.emit:
        return None
    slots = {c: sp.Symbol(f"_slot{i}") for i, c in enumerate(_constants(step))}
    exprs = tuple(None if getattr(step, n) is None else getattr(step, n).xreplace(slots) for n in _FIELDS)
    return (step.kind, step.width, exprs)


def roll_varying_runs(steps: tuple[Step, ...], new_name) -> list[Step | VaryingRun]:
    """`steps` with each run of >= MIN_RUN blocks that agree up to their constants replaced by a VaryingRun;
    `new_name()` gives a fresh identifier per constant of the rolled block."""
    shapes = [_shape(step) for step in steps]
    out: list[Step | VaryingRun] = []
    i, n = 0, len(steps)
    while i < n:
        best_count, best_period = 1, 1
        for period in range(1, min(MAX_PERIOD, (n - i) // MIN_RUN) + 1):
            block = shapes[i : i + period]
            if any(shape is None for shape in block):
                break
            count = 1
            while i + (count + 1) * period <= n and shapes[i + count * period : i + (count + 1) * period] == block:
                count += 1
            if count >= MIN_RUN and count * period > best_count * best_period:
                best_count, best_period = count, period
        if best_count < MIN_RUN:
            out.append(steps[i])
            i += 1
            continue
        block_steps: list[EntrywiseStep] = [step for step in steps[i : i + best_period]
                                             if isinstance(step, EntrywiseStep)]  # all of them (see _shape)
        body: list[EntrywiseStep] = []
        symbols: list[sp.Symbol] = []
        for step in block_steps:
            mapping = {c: sp.Symbol(new_name()) for c in _constants(step)}
            symbols.extend(mapping.values())
            body.append(dataclasses.replace(step, **{
                name: getattr(step, name).xreplace(mapping) for name in _FIELDS if getattr(step, name) is not None}))
        table = tuple(
            tuple(float(c) for step in steps[i + copy * best_period : i + (copy + 1) * best_period]
                  if isinstance(step, EntrywiseStep) for c in _constants(step))
            for copy in range(best_count))
        last = steps[i + best_count * best_period - 1]
        out.append(VaryingRun(tuple(body), tuple(symbols), table, steps[i].path, last.path))
        i += best_count * best_period
    return out
