"""Every activation's dual: a read-only table from activation name to its rule (one module per family in
rules/, the Mehler series / quadrature where no closed form is known), and the expression engine for
`{expr: ...}`."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from types import MappingProxyType

from ntksym.activations import ACTIVATIONS
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

_RULE_MODULES = {"erf": erf, "exponential": exponential, "gelu": gelu, "piecewise_linear": piecewise_linear,
                 "polynomial": polynomial, "rectified_monomial": rectified_monomial, "trig": trig}


def _rule(entry) -> Callable[[Activation], Dual]:
    """The closed-form rule an activation's entry names, else the Mehler series / quadrature."""
    if entry.dual is None:
        return numerical.numerical
    module, function = entry.dual.split(":")
    return getattr(_RULE_MODULES[module], function)


ACTIVATION_RULES: MappingProxyType[str, Callable[[Activation], Dual]] = MappingProxyType(
    {name: _rule(entry) for name, entry in ACTIVATIONS.items()}
)


@lru_cache(maxsize=256)
def activation_dual(act: Activation) -> Dual:
    """The dual of one activation: a named rule, or the expression engine for `{expr: ...}`."""
    if act.name == "expr":
        from ntksym.symbolic.engine import expression_dual  # imported when needed: 0.2 s of SymPy setup

        assert act.expr is not None  # the loader sets expr for every `{expr: ...}` activation
        return expression_dual(act.expr, act)
    return ACTIVATION_RULES[act.name](act)
