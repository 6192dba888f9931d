#!/usr/bin/env python3
"""chi_1 of a block with and without layer norm, over w_std x b_std, from `ntksym derive` (text and json).

Usage: python tools/depth_table.py   (prints the markdown tables of docs/depth.md)

Each point is the spec with its `w_std`, `b_std` hyperparameters set, run through the `ntksym derive`
command (in process) as --format json and as text; the two chi_1 must agree to the text's 6 digits.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ntksym.cli.main import app  # noqa: E402

W = (0.8, 1.0, 1.5, 2.0)
B = (0.0, 0.3)
PAIRS = (("tanh", "tanh_depth", "tanh_layernorm_depth"), ("relu", "relu_bias_depth", "relu_layernorm_depth"))


def derive(spec: str, w: float, b: float, folder: Path) -> tuple[float, str, float]:
    doc = yaml.safe_load((ROOT / "specs" / f"{spec}.yaml").read_text())
    doc["hyperparameters"].update(w_std=w, b_std=b)
    path = folder / f"{spec}_{w}_{b}.yaml"
    path.write_text(yaml.safe_dump(doc))
    runner = CliRunner()
    out = runner.invoke(app, ["derive", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    fp = json.loads(out.output)["fixed_point"]
    chi = fp["chi_1"] if fp["chi_1"] is not None else float(fp["nonfinite"]["chi_1"])
    text = runner.invoke(app, ["derive", str(path)]).output
    assert "None" not in text
    shown = re.search(r"chi_1\s+= (\S+)", text).group(1)
    assert f"{chi:.6g}" == shown, (spec, w, b, chi, shown)
    return chi, fp["phase"], fp["q_star"] if fp["q_star"] is not None else float(fp["nonfinite"]["q_star"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, plain, normed in PAIRS:
            print(f"\n{name}: chi_1 (phase) without / with layer norm\n")
            print("| w_std | b_std | without layer norm | with layer norm |")
            print("|---|---|---|---|")
            for b in B:
                for w in W:
                    cells = []
                    for spec in (plain, normed):
                        chi, phase, q = derive(spec, w, b, Path(tmp))
                        cells.append(f"{chi:.6g} ({phase}, q* = {q:.4g})")
                    print(f"| {w:g} | {b:g} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
