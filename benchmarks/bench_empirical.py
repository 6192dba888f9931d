"""Empirical NTK of a 3-layer width-1024 ReLU MLP on 256 inputs (float32, CPU): fast path vs generic path.

`empirical_ntk_functions()` returns the callables (and inputs) so that another benchmark can time
them beside neural-tangents in the same run.
"""

from __future__ import annotations

import time

import jax
import numpy as np

SPEC = """\
ntksym: 1
name: bench-relu3
input_shape: [32]
layers:
  - repeat: 3
    layers:
      - dense: {w_std: 1.4142135623730951, b_std: 0.1, width: 1024}
      - activation: relu
  - dense: {w_std: 1.0, b_std: 0.0}
"""


def empirical_ntk_functions(n: int = 256, width: int = 1024, seed: int = 0):
    """(fast, generic, params, x): fast(params, x) and generic(params, x) each return the (n, n) NTK."""
    import ntksym
    from ntksym.runtime.empirical import empirical_ntk
    from ntksym.runtime.network import network

    net = network(ntksym.parse_spec(SPEC))
    params = net.init(jax.random.PRNGKey(seed), width)
    params = jax.tree_util.tree_map(lambda a: a.astype("float32"), params)
    x = jax.random.normal(jax.random.PRNGKey(seed + 1), (n, 32), "float32")

    def fast(p, x):
        return empirical_ntk(p, x, method="fast").block_until_ready()

    def generic(p, x):
        return empirical_ntk(p, x, method="generic").block_until_ready()

    return fast, generic, params, x


def best_of(fn, *args, repeats: int = 3) -> tuple[float, object]:
    fn(*args)  # compile
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    jax.config.update("jax_enable_x64", False)
    fast, generic, params, x = empirical_ntk_functions()
    t_fast, k_fast = best_of(fast, params, x, repeats=5)
    t_generic, k_generic = best_of(generic, params, x, repeats=1)
    k_fast, k_generic = np.asarray(k_fast, np.float64), np.asarray(k_generic, np.float64)
    diff = np.abs(k_fast - k_generic).max() / np.abs(k_generic).max()
    print("empirical NTK, 3-layer width-1024 ReLU MLP, 256 inputs, float32, CPU")
    print(f"  fast (layer-factorised): {t_fast * 1e3:9.1f} ms")
    print(f"  generic (Jacobian)     : {t_generic * 1e3:9.1f} ms")
    print(f"  ratio generic / fast   : {t_generic / t_fast:9.1f} x")
    print(f"  max |fast - generic| / max |generic| = {diff:.2e}")


if __name__ == "__main__":
    main()
