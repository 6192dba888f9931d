"""Convolutional kernels: the patch-sum form, and how cost grows with image size (one run, CPU or GPU).

1. The patch average of a full-mode state as `lax.conv_general_dilated` with an identity filter vs the
   fused sum of strided diagonal slices that preludes/spatial.py uses.
2. CNN kernels (n = 16 inputs, float32) on s x s images: global_avg_pool (every pixel pair, P^2 numbers
   per pair of inputs) vs flatten (pixel diagonal only, P numbers).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import ntksym


def _best(fn, *args, repeat: int = 3) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def patch_sum_forms() -> None:
    shape = (16 * 16 * 8 * 8, 1, 8, 8)  # the (x, x') planes of a 16 x 16 batch of 8 x 8 images
    a = jnp.asarray(np.random.default_rng(0).standard_normal(shape), jnp.float32)

    @jax.jit
    def conv(a):
        eye = jnp.eye(3, dtype=a.dtype)[None, None] / 3
        return lax.conv_general_dilated(a, eye, (1, 1), [(1, 1), (1, 1)], precision=lax.Precision.HIGHEST)

    @jax.jit
    def slices(a):
        a = jnp.pad(a, [(0, 0), (0, 0), (1, 1), (1, 1)])
        return sum(a[:, :, d : d + 8, d : d + 8] for d in range(3)) / 3

    assert np.allclose(conv(a), slices(a), atol=1e-5)
    t_conv, t_slices = _best(conv, a), _best(slices, a)
    print(
        f"patch sum, {shape[0]} planes of 8x8, 3-tap identity filter: conv {t_conv * 1e3:.1f} ms, "
        f"strided slices {t_slices * 1e3:.1f} ms, ratio {t_conv / t_slices:.1f}x"
    )


def _spec(size: int, readout: str) -> ntksym.Spec:
    return ntksym.parse_spec(
        f"ntksym: 1\nname: bench\ninput_shape: [{size}, {size}, 3]\nlayers:\n"
        "  - repeat: 2\n    layers:\n      - conv: {filter: [3, 3], w_std: 1.4, b_std: 0.1}\n"
        f"      - activation: relu\n  - {readout}\n  - dense: {{w_std: 1.0}}\n"
    )


def image_size_scaling(n: int = 16) -> None:
    print(f"CNN kernel of {n} x {n} inputs, two 3x3 conv + relu, float32 (compiled; best of 3):")
    for size in (4, 8, 12, 16):
        x = np.random.default_rng(0).standard_normal((n, size, size, 3)).astype(np.float32)
        row = [f"  {size:2d}x{size:<2d} (P = {size * size:3d})"]
        for readout in ("global_avg_pool", "flatten"):
            model = ntksym.compile(_spec(size, readout), dtype="float32")
            seconds = _best(lambda x: model.module.kernel(x), x)  # noqa: B023
            mode = "P^2" if readout == "global_avg_pool" else "P"
            row.append(f"{readout} ({mode}): {seconds * 1e3:8.1f} ms")
        print(",  ".join(row))


def main() -> None:
    print(f"jax {jax.__version__} on {jax.default_backend()}")
    patch_sum_forms()
    image_size_scaling()


if __name__ == "__main__":
    main()
