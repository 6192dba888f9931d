"""The correlation gap g12 = sqrt(q11 q22) - q12 that generated modules carry instead of q12 (symbolic/gap.py).

Each gap rule is checked against the same quantity computed at 50 digits (mpmath), then the rules together
against float64 kernels of whole networks, and finally what they are for: float32 kernels at depth 1000
that agree with float64 (before the gap was carried, 3 % for leaky_relu and 26 % for ReLU on tiny inputs).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from extremes import inputs, min_eigenvalue_ratio, rounding, spec_text

import ntksym
from ntksym.codegen.preludes import kernel as prelude
from ntksym.symbolic import state
from ntksym.symbolic.derivation import derive_recursion as derive
from ntksym.symbolic.steps import EntrywiseStep, RepeatStep

mpmath.mp.dps = 50
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}


def _relative_error(computed, exact) -> float:
    exact = np.asarray(exact, np.float64)
    return float(np.max(np.abs(np.asarray(computed, np.float64) - exact) / np.abs(exact)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scaled_sin_minus_theta_cos_is_accurate_to_rounding_for_tiny_and_large_angles(dtype):
    theta = np.concatenate([np.logspace(-12, 0, 97), np.linspace(0.45, np.pi, 50)]).astype(dtype)
    q11, q22 = np.full_like(theta, 0.7), np.full_like(theta, 1.9)
    scale = np.sqrt(0.7 * 1.9)
    sqrt_det, q12 = (np.asarray(scale * f(theta.astype(np.float64)), dtype) for f in (np.sin, np.cos))
    exact = []
    for t, d, c in zip(theta, sqrt_det, q12, strict=True):
        t, d, c = mpmath.mpf(float(t)), mpmath.mpf(float(d)), mpmath.mpf(float(c))
        # small angles: sqrt(q11 q22) (sin - theta cos) from theta alone; large ones: from the rounded inputs
        exact.append(float(mpmath.sqrt(mpmath.mpf(float(np.asarray(0.7, dtype))) * mpmath.mpf(float(np.asarray(1.9, dtype))))
                           * (mpmath.sin(t) - t * mpmath.cos(t)) if t < 0.25 else d - t * c))
    computed = prelude._scaled_sin_minus_theta_cos(theta, sqrt_det, q12, q11, q22)
    # the direct form sqrt(det) - theta q12 at theta = 1e-4 is wrong in every digit in float32
    assert _relative_error(computed, exact) < 16 * EPS[dtype]


def _mp_gap(q11, q12, q22):
    return mpmath.sqrt(q11 * q22) - q12


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_affine_gap_keeps_gaps_far_below_epsilon(dtype):
    rng = np.random.default_rng(0)
    q11 = rng.uniform(0.5, 2.0, 40)
    q22 = q11 * (1 + rng.uniform(-1e-3, 1e-3, 40))
    gap = np.sqrt(q11 * q22) * 10.0 ** rng.uniform(-30, -1, 40)  # 1 - rho from 1e-30 to 0.1
    a, c = 1.7, 0.3
    exact = []
    for v11, v22, v_gap in zip(*(np.asarray(v, dtype) for v in (q11, q22, gap)), strict=True):
        m11, m22, m_gap = mpmath.mpf(float(v11)), mpmath.mpf(float(v22)), mpmath.mpf(float(v_gap))
        q12 = mpmath.sqrt(m11 * m22) - m_gap
        exact.append(float(_mp_gap(a * m11 + c, a * q12 + c, a * m22 + c)))
    computed = prelude._affine_gap(*(np.asarray(v, dtype) for v in (q11, q22, gap)), a, c)
    assert _relative_error(computed, exact) < 16 * EPS[dtype]


def _residual_case(dtype: str, proportional: bool):
    """Skip and block states with gaps from 1e-25 to 0.1 relative; the block's variances 4 times the
    skip's (exactly, so the two branches' norms match and only the carried gaps add up) or independent."""
    rng = np.random.default_rng(1)
    n = 5
    q11, q22 = rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, n)
    variances = [(q11, q22), (4 * q11, 4 * q22) if proportional else (rng.uniform(0.5, 2.0, n), q22[::-1])]
    states = []
    for v11, v22 in variances:
        scale = np.sqrt(np.outer(v11, v22))
        gap = scale * 10.0 ** rng.uniform(-25, -1, (n, n))
        zeros = np.zeros(n)
        states.append(prelude._State(*(np.asarray(v, dtype) for v in (v11, zeros, v22, zeros, scale - gap, 0 * gap, 4.0, gap))))
    return states


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("proportional", [True, False])
def test_residual_sum_gap_keeps_gaps_far_below_epsilon(dtype, proportional):
    skip, block = _residual_case(dtype, proportional)
    scale = 0.6
    summed = prelude._residual_sum(skip, block, scale)
    c = mpmath.mpf(scale) ** 2
    exact = np.zeros(summed[7].shape)
    for i, j in np.ndindex(exact.shape):
        (a11, a22, a_gap), (b11, b22, b_gap) = (
            (mpmath.mpf(float(s[0][i])), mpmath.mpf(float(s[2][j])), mpmath.mpf(float(s[7][i, j])))
            for s in (skip, block))
        q12 = (mpmath.sqrt(a11 * a22) - a_gap) + c * (mpmath.sqrt(b11 * b22) - b_gap)
        exact[i, j] = float(_mp_gap(a11 + c * b11, q12, a22 + c * b22))
    # independent norms: the term c (q11a q22b - q11b q22a)^2 / ... is as accurate as that difference of
    # rounded products (conditioning, not the formula); it dominates the gap, so the gap stays small and valid
    tolerance = (4 if proportional else 512) * EPS[dtype]  # measured: 0.95 and 83 eps
    assert _relative_error(summed[7], exact) < tolerance


GAP_BLOCKS = {"relu": 1.2, "leaky_relu": 1.3, "abs": 0.8, "step": 1.1, "erf": 1.5, "layer_norm": 1.0,
              "residual": 1.0, "identity": 1.0}


def _reference_nngp(steps, q11, q12, q22):
    """The NNGP by the derived q12 formulas alone (numpy, float64), no gap: an independent recursion."""
    args = (state.q11, state.q12, state.q22, state.t12, state.fan_in)
    for step in steps:
        if isinstance(step, EntrywiseStep):
            cross = sp.lambdify(args, step.nngp, "numpy")
            diag = sp.lambdify((state.q11, state.t11, state.fan_in), step.nngp_diag, "numpy")
            q12 = np.broadcast_to(cross(q11[:, None], q12, q22[None, :], 0.0, 1.0), q12.shape)
            q11, q22 = (np.broadcast_to(diag(q, 0.0, 1.0), q.shape) for q in (q11, q22))
        elif isinstance(step, RepeatStep):
            for _ in range(int(step.count)):
                q11, q12, q22 = _reference_nngp(step.body, q11, q12, q22)
        else:  # residual
            b11, b12, b22 = _reference_nngp(step.body, q11, q12, q22)
            c = float(step.scale) ** 2
            q11, q12, q22 = q11 + c * b11, q12 + c * b12, q22 + c * b22
    return q11, q12, q22


# one compile each: leaky_relu, abs and identity share relu's arc-cosine gap rule and run with -m slow
@pytest.mark.parametrize("block", [pytest.param(b, marks=(pytest.mark.slow,) if b in ("leaky_relu", "abs", "identity")
                                                else ()) for b in GAP_BLOCKS])
def test_carried_gap_equals_the_gap_of_an_independent_recursion(block):
    """Shallow and float64, where sqrt(q11 q22) - q12 is well conditioned: the gap rules of dense, the
    arc-cosine activations, step, layer norm and residual sums must agree with the q12 formulas."""
    spec = ntksym.parse_spec(spec_text(block, 3, GAP_BLOCKS[block], 0.2))
    x = inputs("zeros")
    module = ntksym.compile(spec, dtype="float64").module
    final = module._propagate(module._inputs(x, x), {k: np.float64(v) for k, v in module.HYPERPARAMETERS.items()})
    d = x.shape[1]
    q11, q12, q22 = _reference_nngp(derive(spec).steps, (x * x).sum(1) / d, x @ x.T / d, (x * x).sum(1) / d)
    scale = np.sqrt(np.outer(q11, q22))
    gap = np.asarray(final[7])
    off = ~np.eye(len(x), dtype=bool)  # the reference's own diagonal has the sqrt(eps) error of an angle at rho = 1
    np.testing.assert_allclose(gap[off], (scale - q12)[off], rtol=0, atol=1e-12 * scale.max())
    assert np.all(np.diag(gap) == 0) and gap.min() >= 0 and gap.max() < 2 * scale.max()


# depth 1000: ordered (leaky_relu, abs), critical (relu) and normalised (layer_norm) blocks, the inputs
# that drove the correlation closest to 1
DEEP = [("leaky_relu", 1.4, "zeros"), ("relu", 2**0.5, "norm 1e-6"), ("relu", 2**0.5, "random"),
        ("abs", 0.9, "random"), ("step", 1.5, "norm 1e-6"), ("layer_norm", 2.0, "random")]


# two 1000-layer compiles per block: relu (critical, two inputs on one compile) by default, the rest with -m slow
@pytest.mark.parametrize(("block", "w", "kind"), [pytest.param(*c, marks=() if c[0] == "relu" else (pytest.mark.slow,))
                                                  for c in DEEP])
def test_float32_at_depth_1000_agrees_with_float64(block, w, kind):
    spec = spec_text(block, 1000, w, 0.1)
    x = inputs(kind)
    k32 = ntksym.compile(ntksym.parse_spec(spec), dtype="float32").kernel(x)
    k64 = ntksym.compile(ntksym.parse_spec(spec), dtype="float64").kernel(x)
    for low, high in ((k32.nngp, k64.nngp), (k32.ntk, k64.ntk)):
        error = np.abs(np.asarray(low, np.float64) - high).max() / np.abs(high).max()
        assert error < 1e-4, error  # measured at most 3e-5; it was 3e-2 to 0.26 without the gap
        assert min_eigenvalue_ratio(low) >= -rounding("float32", 1000)
