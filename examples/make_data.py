"""Write a small random data set (6 inputs of dimension 8) for `make demo`: python make_data.py OUT.npy"""

import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo_x.npy")
out.parent.mkdir(parents=True, exist_ok=True)
np.save(out, np.random.default_rng(0).normal(size=(6, 8)))
print(f"wrote {out}: 6 random inputs of dimension 8")
