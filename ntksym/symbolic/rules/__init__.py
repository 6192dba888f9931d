"""One rule per activation family: a read-only table from activation name to its dual."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.rules import (
    erf,
    exponential,
    gelu,
    numerical,
    piecewise_linear,
    polynomial,
    rectified_monomial,
    trig,
)

ACTIVATION_RULES: MappingProxyType[str, Callable[[Activation], Dual]] = MappingProxyType({
    "identity": polynomial.identity,
    "relu": piecewise_linear.relu,
    "leaky_relu": piecewise_linear.leaky_relu,
    "abrelu": piecewise_linear.abrelu,
    "abs": piecewise_linear.absolute,
    "step": piecewise_linear.step,
    "erf": erf.erf,
    "gelu": gelu.gelu,
    "sin": trig.sin,
    "cos": trig.cos,
    "exp": exponential.exp,
    "gaussian": exponential.gaussian,
    "monomial": polynomial.monomial,
    "rectified_monomial": rectified_monomial.rectified_monomial,
    "polynomial": polynomial.polynomial,
    "hermite": polynomial.hermite,
    **{name: numerical.numerical for name in numerical.FUNCTIONS},
})
