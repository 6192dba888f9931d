"""XLA options chosen per generated kernel: which kernels ask for the loop emitters, and that asking can never
break a kernel (an option the installed XLA lacks, a call inside a caller's trace)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import spec_text

import ntksym
from ntksym.codegen.preludes import kernel as K
from ntksym.codegen.writer import LOOP_EMITTERS

DENSE = "  - dense: {w_std: 1.4, b_std: 0.1}\n  - activation: %s\n  - dense: {w_std: 1.0, b_std: 0.0}\n"
CONV = ("  - conv: {filter: [3], channels: 8, w_std: 1.4, b_std: 0.1}\n  - activation: %s\n  - flatten\n"
        "  - dense: {width: 1, w_std: 1.0, b_std: 0.0}\n")


def _model(layers: str, extra: str = ""):
    return ntksym.compile(ntksym.parse_spec(spec_text(layers, name="xla-options", extra=extra)), dtype="float64")


@pytest.mark.parametrize(("layers", "extra", "loop"), [
    (DENSE % "relu", "", False),  # closed forms run faster with XLA's fusion emitters
    (DENSE % "tanh", "", True),  # quadrature / Mehler series
    (CONV % "relu", "input_shape: [6, 1]\n", True),  # spatial
])
def test_loop_emitters_are_asked_for_by_spatial_and_quadrature_kernels_only(layers, extra, loop):
    module = _model(layers, extra).module
    assert module.XLA_OPTIONS == (LOOP_EMITTERS if loop else {})
    # where this jax accepts the option (it does on a CPU with jax 0.10), the top-level function carries it
    top, plain = module._kernel._get(), module._kernel._jitted
    assert (top is not plain) == (loop and bool(K._accepted(LOOP_EMITTERS)))


def test_an_option_this_xla_does_not_know_is_dropped_and_the_function_still_runs():
    assert K._accepted({"xla_cpu_no_such_option_for_ntksym": True}) == {}
    square = K._jit(lambda x: x * x, xla_options={"xla_cpu_no_such_option_for_ntksym": True})
    assert float(square(3.0)) == 9.0


def test_inside_a_callers_jit_or_grad_the_kernel_equals_the_top_level_one():
    model = _model(CONV % "erf", "input_shape: [6, 1]\n")  # smooth in x (ReLU's NTK has a kink at rho = 1)
    x = np.random.default_rng(0).normal(size=(3, 6, 1))
    top = np.asarray(model.module.kernel(x)[1])
    closed_over = jax.jit(lambda: model.module.kernel(x)[1])()  # no traced argument reaches the kernel
    traced = jax.jit(lambda z: model.module.kernel(z)[1])(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(closed_over), top, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(traced), top, rtol=1e-12)
    grad = jax.grad(lambda z: model.module.kernel(z)[1].sum())(jnp.asarray(x))
    eps, direction = 1e-6, np.random.default_rng(1).normal(size=x.shape)
    numeric = (model.module.kernel(x + eps * direction)[1].sum() - model.module.kernel(x - eps * direction)[1].sum())
    assert float(jnp.sum(grad * direction)) == pytest.approx(float(numeric) / (2 * eps), rel=1e-6)
