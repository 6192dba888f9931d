"""What XLA is asked to compile: one program per kernel, and blocks sized by the numbers held per pair.

Compile time is what a user waits for on the first call (issue 13): blocks on the diagonal used to be a
second program, and blocks of spatial kernels were sized like those of fully-connected ones.
"""

from __future__ import annotations

import numpy as np
from conftest import spec_text

import ntksym
from ntksym.runtime.tiling.evaluate import block_limit

FLATTEN_CNN = ("  - conv: {filter: [3, 3], w_std: 1.4, b_std: 0.1}\n  - activation: relu\n"
               "  - conv: {filter: [3, 3], w_std: 1.4, b_std: 0.1}\n  - activation: relu\n"
               "  - flatten\n  - dense: {w_std: 1.0}\n")
GAP_CNN = ("  - conv: {filter: [3, 3], w_std: 1.4, b_std: 0.1}\n  - activation: relu\n"
           "  - global_avg_pool\n  - dense: {w_std: 1.0}\n")
RNG = np.random.default_rng(3)


def _model(layers: str, shape="[8, 8, 1]"):
    return ntksym.compile(ntksym.parse_spec(spec_text(layers, extra=f"input_shape: {shape}\n")), dtype="float64")


def test_every_block_of_a_tiled_kernel_runs_one_compiled_program():
    model = _model(GAP_CNN)
    program = model.module._kernel_with_diagonals
    x = RNG.standard_normal((9, 8, 8, 1))
    before = program._cache_size(), model.module._kernel._cache_size()
    k = model.kernel(x, tile_size=3)  # 3 x 3 tiles: 3 on the diagonal, 3 above it
    assert (program._cache_size(), model.module._kernel._cache_size()) == (before[0] + 1, before[1])
    whole = model.kernel(x, x.copy())  # every entry by the cross formula
    assert np.abs(k.ntk - whole.ntk).max() <= 1e-12 * np.abs(whole.ntk).max()
    assert np.array_equal(k.ntk, k.ntk.T)


def test_blocks_hold_fewer_pairs_when_each_pair_holds_a_pixel_covariance():
    assert block_limit(None, 1) == 256  # fully connected: 256 x 256 pairs per block
    assert block_limit(None, 64) == 32  # 8x8 pixel diagonal: the same number of floats per block
    assert block_limit(None, 64**2) == 4  # every pixel pair of 8x8 images
    assert block_limit(None, 1024**2) == 1  # 32x32 images: one pair per block
    gap, flatten = _model(GAP_CNN), _model(FLATTEN_CNN)
    assert (gap.module.FLOATS_PER_PAIR, flatten.module.FLOATS_PER_PAIR) == (64**2, 64)
