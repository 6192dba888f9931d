"""The ReLU MLP kernel workload of bench_kernel.py: this checkout vs an earlier git revision vs
neural-tangents, in one run (for refactors that must not slow the generated code down).

    python benchmarks/bench_revision.py REV [--depth 10] [--rounds 3]

REV is checked out into a temporary git worktree; each ntksym runs in its own process (its own
cache), alternating old and new `--rounds` times; the best steady-state call of each is compared
with neural-tangents' best on the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
import bench_kernel as b
r = b.ntksym_times({depth}, b.inputs(), repeats=5)
r.pop("kernel")
print(json.dumps(r))
"""


def ntksym_run(source_root: Path, depth: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(source_root))
    code = CHILD.format(bench=str(HERE), depth=depth)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    import bench_kernel

    with tempfile.TemporaryDirectory(prefix="ntksym-rev-") as tmp:
        old_root = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old_root), args.revision],
                       check=True)
        try:
            runs: dict[str, list[dict]] = {"old": [], "new": []}
            for _ in range(args.rounds):
                runs["old"].append(ntksym_run(old_root, args.depth))
                runs["new"].append(ntksym_run(ROOT, args.depth))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_root)], check=False)
    nt = bench_kernel.nt_times(args.depth, repeats=3, timeout=600)
    best = {k: min(r["run"] for r in v) for k, v in runs.items()}
    first = {k: min(r["compile"] + r["run"] for r in v) for k, v in runs.items()}
    print(f"# ReLU MLP depth {args.depth}, float32, {bench_kernel.N} inputs, NNGP + NTK, CPU; best of {args.rounds} rounds")
    print(f"{'':<22}{'first call (s)':>16}{'steady (s)':>12}{'NT / ntksym':>14}")
    for key, label in (("old", f"ntksym {args.revision[:10]}"), ("new", "ntksym (this tree)")):
        ratio = nt.get("run", float("nan")) / best[key]
        print(f"{label:<22}{first[key]:>16.2f}{best[key]:>12.3f}{ratio:>14.2f}")
    print(f"{'neural-tangents':<22}{nt.get('compile', float('nan')) + nt.get('run', float('nan')):>16.2f}"
          f"{nt.get('run', float('nan')):>12.3f}")
    print(f"new / old steady-state time: {best['new'] / best['old']:.3f}")


if __name__ == "__main__":
    main()
