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
    # on a CPU the top-level function carries the option (jax 0.10's XLA accepts it: the kernel runs with it)
    module.kernel(np.zeros((2, *(module.INPUT_SHAPE or (3,)))))  # a dense spec takes any width
    top, plain = module._kernel._get(), module._kernel._jitted
    assert (top is not plain) == (loop and jax.default_backend() == "cpu")


def test_an_option_this_xla_does_not_know_is_dropped_and_the_function_still_runs():
    unknown = {"xla_cpu_no_such_option_for_ntksym": True}
    square = K._jit(lambda x: x * x, xla_options=unknown)
    assert square._get() is not square._jitted  # asked for: nothing is compiled to find out beforehand
    assert float(square(3.0)) == 9.0  # XLA refuses the option; the call runs without it
    assert square._get() is square._jitted
    cube = K._jit(lambda x: x * x * x, xla_options=unknown)
    assert cube._get() is cube._jitted  # the refusal is remembered for the process
    assert float(cube(2.0)) == 8.0


def test_an_error_that_is_not_about_the_options_is_raised_as_it_is():
    def bad(x):
        raise ArithmeticError("not about XLA options")

    fails = K._jit(bad, xla_options=dict(LOOP_EMITTERS))
    with pytest.raises(ArithmeticError, match="not about XLA options"):
        fails(1.0)
    assert jax.default_backend() != "cpu" or fails._get() is not fails._jitted  # the options are still asked for


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
