"""Generated code that is fast by construction: a vectorisable arctan2 as exact as XLA's, loops over depth."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import spec_text

import ntksym
from ntksym.codegen.preludes.kernel import _atan2

# Cephes documents ~2 ulp for atanf and ~1e-16 for atan; the reduction adds one rounding (float32).
ULPS = {"float32": 3.0, "float64": 2.0}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prelude_atan2_matches_numpy_to_a_few_ulps(dtype):
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(size=20_000), [0.0, 0.0, 1.0, -1.0, 1e-30, 3.0, -2.0]]).astype(dtype)
    x = np.concatenate([rng.normal(size=20_000), [0.0, -1.0, 0.0, 0.0, 1.0, 3.0, -2.0]]).astype(dtype)
    result = np.asarray(_atan2(jnp.asarray(y), jnp.asarray(x)))
    assert result.dtype == dtype
    got = result.astype(np.float64)
    want = np.arctan2(y.astype(np.float64), x.astype(np.float64))
    want[0 + 20_000] = np.pi / 2  # _atan2(0, 0) = pi / 2 by definition: a zero-variance input is uncorrelated
    spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    ulps = np.abs(got - want) / np.maximum(spacing, np.finfo(dtype).tiny)
    assert ulps.max() <= ULPS[dtype], (ulps.max(), y[ulps.argmax()], x[ulps.argmax()])
    xla = np.asarray(jnp.arctan2(jnp.asarray(y), jnp.asarray(x))).astype(np.float64)
    assert ulps.max() <= (np.abs(xla - want) / np.maximum(spacing, np.finfo(dtype).tiny)).max() + 1.5


def test_relu_module_uses_the_vectorised_arctan2_and_a_loop_over_depth():
    layers = """  - repeat: 1000
    layers:
      - dense: {w_std: 1.4142135623730951, b_std: 0.1}
      - activation: relu
"""
    model = ntksym.compile(ntksym.parse_spec(spec_text(layers, name="relu-deep")), dtype="float64")
    source = model.source_path.read_text()
    assert "_atan2(" in source and "jnp.arctan2(" not in source
    assert "lax.fori_loop(0, 1000," in source
