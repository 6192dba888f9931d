"""Kernels of MLPs whose activations are expressions, against an independent numerical recursion.

The reference applies the layerwise recursion (THEORY.md) with every Gaussian expectation computed by
scipy's nested adaptive quadrature of hand-written phi and phi'; the model is compiled by ntksym from
the spec (derived closed forms, generated JAX code).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import spec_text
from integration_reference import expect_pair, expect_same
from test_expressions_engine import CLOSED

import ntksym

W1, B1, W2, B2 = 1.2, 0.1, 0.9, 0.2
ACCEPTANCE = [
    "x**3 - 0.5*x",
    "sin(x) + 0.5*cos(2*x)",
    "Piecewise((x, x > 0), (0.2*x, True))",
    "Piecewise((x**2, x > 0), (0, True))",
    "exp(-x**2) + x",
    "x*erf(x)",
]
QUADRATURE = {"tanh(2*x)": (lambda z: math.tanh(2 * z), lambda z: 2 / math.cosh(2 * z) ** 2)}


def _spec(text: str):
    act = f'  - activation: {{expr: "{text}"}}\n'
    layers = (
        f"  - dense: {{w_std: {W1}, b_std: {B1}}}\n"
        + act
        + f"  - dense: {{w_std: {W2}, b_std: {B2}}}\n"
        + act
        + "  - dense: {w_std: 1.0, b_std: 0.0}\n"
    )
    return ntksym.parse_spec(spec_text(layers, name="expr-mlp"))


def reference_kernel(f, df, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, d = x.shape
    q = x @ x.T / d
    t = np.zeros_like(q)
    for w, b in ((W1, B1), (W2, B2)):
        q = w**2 * q + b**2
        t = q + w**2 * t
        nq, nd = np.empty_like(q), np.empty_like(q)
        for i in range(n):
            for j in range(i, n):
                if i == j:
                    nq[i, i], nd[i, i] = expect_same(f, f, q[i, i]), expect_same(df, df, q[i, i])
                else:
                    nq[i, j] = nq[j, i] = expect_pair(f, f, q[i, i], q[i, j], q[j, j])
                    nd[i, j] = nd[j, i] = expect_pair(df, df, q[i, i], q[i, j], q[j, j])
        q, t = nq, nd * t
    return q, q + t  # last dense layer: w = 1, b = 0


def _inputs() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3, 4)) * 0.8


@pytest.mark.parametrize("text", ACCEPTANCE)
def test_mlp_kernel_of_a_closed_form_expression_matches_numerical_integration(text):
    _, f, df = CLOSED[text]
    x = _inputs()
    kernel = ntksym.compile(_spec(text), dtype="float64").kernel(x)
    nngp, ntk = reference_kernel(f, df, x)
    np.testing.assert_allclose(np.asarray(kernel.nngp), nngp, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.asarray(kernel.ntk), ntk, rtol=1e-8, atol=1e-10)


# about 26 s on 2 cores; a quadrature expression's compiled kernel is checked by default in
# test_expressions_named.py (elu)
@pytest.mark.slow
@pytest.mark.parametrize("text", list(QUADRATURE))
def test_mlp_kernel_of_a_quadrature_expression_is_within_1e6(text):
    f, df = QUADRATURE[text]
    x = _inputs()
    kernel = ntksym.compile(_spec(text), dtype="float64").kernel(x)
    nngp, ntk = reference_kernel(f, df, x)
    np.testing.assert_allclose(np.asarray(kernel.nngp), nngp, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(kernel.ntk), ntk, rtol=1e-6)
