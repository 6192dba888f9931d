"""Specs and inputs at numerical extremes, and the symmetry / PSD measures used by the tests and the table.

Shared by tests/test_numerical_extremes.py, tests/test_properties_extreme.py and
tools/numerical_extremes.py (which writes the table in docs/troubleshooting.md).
"""

from __future__ import annotations

import numpy as np

# closed-form activations whose kernels stay finite wherever the variance does
ACTIVATIONS = ("relu", "erf", "abs", "leaky_relu", "gelu", "step", "sin", "cos", "identity")
BLOCKS = ACTIVATIONS + ("layer_norm", "residual")
INPUT_KINDS = ("random", "zeros", "identical", "norm 1e-6", "norm 1e6")


def spec_text(block: str, depth: int, w_std: float, b_std: float, *, parameterization: str = "ntk",
              scale: float | None = None) -> str:
    """A `depth`-fold repeated block with a dense readout. `block`: an activation name, `layer_norm`
    (dense, layer_norm, relu) or `residual` (a relu-dense branch added with `scale`, default depth^-1/2)."""
    width = ", width: 64" if parameterization == "standard" else ""  # its NTK needs the fan-in
    dense = f"{{dense: {{w_std: {w_std!r}, b_std: {b_std!r}{width}}}}}"
    if block == "layer_norm":
        body = f"[{dense}, layer_norm, {{activation: relu}}]"
    elif block == "residual":
        scale = depth**-0.5 if scale is None else scale
        body = f"[{{residual: {{scale: {scale!r}, layers: [{{activation: relu}}, {dense}]}}}}]"
    else:
        body = f"[{dense}, {{activation: {block}}}]"
    return (f"ntksym: 1\nname: extreme-{block}\nparameterization: {parameterization}\n"
            f"layers:\n  - dense: {{w_std: 1.0, b_std: {b_std!r}{width}}}\n  - repeat: {depth}\n    layers: {body}\n"
            "  - dense: {w_std: 1.0}\n")


def inputs(kind: str, n: int = 6, d: int = 8, seed: int = 0) -> np.ndarray:
    """n inputs of dimension d: Gaussian, two zero rows, n identical rows, or rescaled to a norm."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    if kind == "zeros":
        x[:2] = 0.0
    elif kind == "identical":
        x[:] = x[0]
    elif kind.startswith("norm "):
        x *= float(kind.split()[1]) / np.linalg.norm(x, axis=1, keepdims=True)
    return x


def asymmetry(k: np.ndarray) -> float:
    """max |K - K^T| / max |K| (0 for a zero matrix)."""
    k = np.asarray(k, np.float64)
    top = np.abs(k).max()
    return 0.0 if top == 0 else float(np.abs(k - k.T).max() / top)


def min_eigenvalue_ratio(k: np.ndarray) -> float:
    """The smallest eigenvalue of (K + K^T)/2 over the largest |eigenvalue|: >= -rounding for a PSD kernel."""
    k = np.asarray(k, np.float64)
    eig = np.linalg.eigvalsh((k + k.T) / 2)
    top = np.abs(eig).max()
    return 0.0 if top == 0 else float(eig.min() / top)


def rounding(dtype: str, depth: int) -> float:
    """The tolerance of 'symmetric and PSD to rounding': machine epsilon times a few units per layer."""
    eps = float(np.finfo(dtype).eps)
    return eps * 8 * max(1.0, np.sqrt(depth))
