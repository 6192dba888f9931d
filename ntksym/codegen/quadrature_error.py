"""Error estimate of the Gaussian expectations of the generated modules (`ntksym.codegen.preludes.mehler`).

The generated modules evaluate `E[phi(u) phi(v)]` and `E[phi'(u) phi'(v)]` by the Mehler (Hermite) series
where its certified truncation bound allows, else by a fixed 2-D rule (240 outer by 192 inner nodes,
`prelude_quadrature`). `estimate_error` compares what they compute (whichever path is taken) with a
refined 2-D rule (twice the panels or more, order 16), whose own error is far smaller, so the
difference estimates the error of the generated code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from ntksym.errors import InputError
from ntksym.symbolic.state import x

ArrayFn = Callable[[object], object]
REFINED = (10, 16, 6, 16)  # graded panels and their order, uniform panels and their order


@dataclass(frozen=True)
class QuadratureError:
    """Differences between the standard and the refined rule, relative to sqrt(E[f(u)^2] E[f(v)^2])."""

    nngp: np.ndarray  # E[phi(u) phi(v)]
    ntk_factor: np.ndarray  # E[phi'(u) phi'(v)]

    @property
    def worst(self) -> float:
        return float(max(np.max(self.nngp), np.max(self.ntk_factor)))


def as_function(expr: sp.Expr | ArrayFn) -> ArrayFn:
    """An elementwise jnp function of `x`, printed by the code generator's own printer."""
    if callable(expr) and not isinstance(expr, sp.Basic):
        return expr
    if not isinstance(expr, sp.Expr) or expr.free_symbols - {x}:
        raise InputError(f"expected a SymPy expression in x, got {expr!r}; write the activation in x")
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    from jax import lax

    from ntksym.codegen.printer import KernelPrinter

    # lambdify compiles printer output of a derived expression, never user text
    return sp.lambdify(x, expr, modules=[{"jnp": jnp, "jsp": jsp, "lax": lax}], printer=KernelPrinter())


def estimate_error(phi: sp.Expr | Callable, dphi: sp.Expr | Callable, q11: ArrayLike, q12: ArrayLike,
                   q22: ArrayLike) -> QuadratureError:
    """Estimated relative error of the generated quadrature for phi at the given (broadcast) q's.

    phi, dphi: SymPy expressions in `x` (as `rules.numerical.activation_functions` gives them) or elementwise jnp functions.
    """
    import jax
    import jax.numpy as jnp

    from ntksym.codegen.preludes import mehler as mehler
    from ntksym.codegen.preludes import quadrature as quad

    q11, q12, q22 = (jnp.asarray(a, jnp.float64) for a in (q11, q12, q22))
    if bool(jnp.any(q11 < 0) | jnp.any(q22 < 0)) or bool(jnp.any(q12**2 > q11 * q22 * (1 + 1e-12))):
        raise InputError("variances must be >= 0 and |q12| <= sqrt(q11 q22); pass a covariance")
    refined = quad._quad_make_rule(*REFINED)
    f, df = as_function(phi), as_function(dphi)
    pairs = ((f, f), (df, df))  # one call for both, as the generated modules make it

    @jax.jit  # one fused program: eager dispatch would compile op by op
    def differences(a, b, c):
        coarse = mehler._expect_pairs(pairs, a, b, c)
        fine = quad._expect_pairs_quadrature(pairs, a, b, c, rules=(refined, refined))
        same_a, same_c = quad._expect_sames(pairs, a, rule=refined), quad._expect_sames(pairs, c, rule=refined)
        out = []
        for k in range(len(pairs)):
            scale = jnp.sqrt(same_a[k] * same_c[k])
            out.append(jnp.abs(coarse[k] - fine[k]) / jnp.maximum(scale, jnp.finfo(scale.dtype).tiny))
        return out

    return QuadratureError(*(np.asarray(d) for d in differences(q11, q12, q22)))
