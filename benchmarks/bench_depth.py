"""Depth analysis timings: the full fixed-point set at one point, and a 60 x 60 phase diagram.

Targets (issue 4): one point < 0.5 s; a 60 x 60 diagram (chi_1 grid + edge-of-chaos curve) < 60 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import ntksym
from ntksym.depth.fixed_points import Analysis

SPEC = Path(__file__).resolve().parent.parent / "specs" / "tanh_edge_of_chaos.yaml"


def main() -> None:
    d = ntksym.derive(ntksym.load_spec(SPEC))
    t0 = time.perf_counter()
    fp = d.fixed_points()
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    fp = d.fixed_points(sigma_w=2.0)  # chaotic: c* needs the 2-D quadrature
    warm = time.perf_counter() - t0
    print(
        f"fixed points, tanh (quadrature dual): first call {cold:.3f} s (imports + compile), "
        f"chaotic point {warm:.3f} s  [target < 0.5 s]  phase={fp.phase} c*={fp.c_star:.6f}"
    )
    relu = ntksym.derive(ntksym.parse_spec(SPEC.read_text().replace("tanh", "relu")))
    t0 = time.perf_counter()
    relu.fixed_points()
    print(f"fixed points, relu (closed form): {time.perf_counter() - t0:.3f} s")

    w, b = np.linspace(0.5, 3, 60), np.linspace(0, 1, 60)
    t0 = time.perf_counter()
    analysis = Analysis(d, {})
    chi = analysis.chi_1_grid(w, b)[0]
    t_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    analysis.critical_w(b)
    t_curve = time.perf_counter() - t0
    total = t_grid + t_curve
    print(
        f"60 x 60 phase diagram, tanh: chi_1 grid {t_grid:.2f} s + critical curve {t_curve:.2f} s = "
        f"{total:.2f} s  [target < 60 s; ratio {total / 60:.3f} of budget]; "
        f"{int(np.sum(chi > 1))} chaotic points"
    )


if __name__ == "__main__":
    main()
