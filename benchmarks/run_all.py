"""Run every benchmarks/bench_*.py's main() but the matrix's, one after another (`make bench`, after
`bench_matrix.py`); a missing or failing one is reported and skipped."""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_kernel", "bench_depth", "bench_expressions", "bench_empirical", "bench_nt_empirical"]


def scripts() -> list[Path]:
    found = {path.stem: path for path in sorted(HERE.glob("bench_*.py")) if path.stem != "bench_matrix"}
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + list(found.values())


def run(path: Path) -> bool:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        main = getattr(module, "main", None)
        if main is None:
            print(f"{path.name}: no main(), skipped")
            return True
        main([]) if main.__code__.co_argcount else main()
        return True
    except Exception:
        traceback.print_exc()
        return False


def main() -> int:
    sys.path.insert(0, str(HERE))
    missing = [name for name in ORDER if not (HERE / f"{name}.py").exists()]
    if missing:
        print(f"not present, skipped: {', '.join(missing)}")
    failed = []
    for path in scripts():
        print(f"\n=== {path.name} ===", flush=True)
        start = time.perf_counter()
        if not run(path):
            failed.append(path.name)
        print(f"=== {path.name}: {time.perf_counter() - start:.0f} s ===", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
