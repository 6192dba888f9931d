"""Benchmark: deriving the dual of a new activation expression, and reading it back from the cache.

Targets (issue 3): a new expression in under 5 s, a cached one in under 50 ms. Each expression gets a
fresh private cache folder, so the first call really derives; the second reads the disk cache (the
engine keeps no in-process memo of its own).
"""

from __future__ import annotations

import os
import tempfile
import time

EXPRESSIONS = [
    "x**3 - 0.5*x",
    "sin(x) + 0.5*cos(2*x)",
    "Piecewise((x, x > 0), (0.2*x, True))",
    "Piecewise((x**2, x > 0), (0, True))",
    "exp(-x**2) + x",
    "x*erf(x)",
    "x*(1 + erf(x/sqrt(2)))/2",
    "Max(x, 0)**3 - 0.5*Min(x, 0)**2",
    "exp(0.3*x)*cos(x) - x**2*exp(-0.4*x**2)",
    "tanh(2*x)",
]


def main() -> None:
    os.environ["NTKSYM_CACHE_DIR"] = tempfile.mkdtemp(prefix="ntksym-bench-expr-")
    from ntksym.spec.schema import Activation
    from ntksym.symbolic.engine import expression_dual

    expression_dual("x", Activation("expr", (), "x"))  # imports and SymPy warm-up, not timed
    print(f"{'expression':45s} {'method':45s} {'new (s)':>8s} {'cached (ms)':>12s} {'ratio':>8s}")
    worst_new = worst_cached = 0.0
    for text in EXPRESSIONS:
        act = Activation("expr", (), text)
        start = time.perf_counter()
        dual = expression_dual(text, act)
        new = time.perf_counter() - start
        start = time.perf_counter()
        expression_dual(text, act)
        cached = time.perf_counter() - start
        worst_new, worst_cached = max(worst_new, new), max(worst_cached, cached)
        print(f"{text:45s} {dual.method:45s} {new:8.2f} {cached * 1e3:12.1f} {new / cached:8.0f}x")
    print(
        f"slowest new derivation {worst_new:.2f} s (target < 5 s); "
        f"slowest cached read {worst_cached * 1e3:.1f} ms (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
