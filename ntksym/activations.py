"""The named activations: one entry each, read by the loader, the JSON Schema, the derivation, the
finite network and the docs table.

An entry gives the parameters (with defaults), phi(x) as a SymPy expression built from the
parameters' values, and where its dual kernels come from: `dual` names a closed-form rule in
ntksym/symbolic/rules ("module:function"); an entry without one gives phi'(x) too, and its duals are
Gaussian expectations evaluated by the certified Mehler series / quadrature (rules/numerical.py).
Activations written as `{expr: "..."}` in a spec are not entries: the expression engine derives them.

Expressions are written in forms that never overflow (no exp of a large positive argument divided by
another), since the generated code evaluates them as written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ntksym.spec.fields import Field

SELU_SCALE = sp.Float(1.0507009873554804934193349852946)
SELU_ALPHA = sp.Float(1.6732632423543772848170429916717)


def sigmoid(z: sp.Expr) -> sp.Expr:
    """1/(1 + exp(-z)) written as (1 + tanh(z/2))/2: the same function, and neither it nor its
    derivative ever overflows."""
    return (1 + sp.tanh(z / 2)) / 2


@dataclass(frozen=True)
class ActivationEntry:
    name: str
    doc: str  # the formula, as the docs table shows it
    function: Callable[..., sp.Expr]  # function(x, **parameter values) -> phi(x)
    params: dict[str, Field] = field(default_factory=dict)
    dual: str | None = None  # "module:function" in ntksym.symbolic.rules; None: Mehler series / quadrature
    derivative: Callable[..., sp.Expr] | None = None  # phi'(x), for entries without a closed-form dual


def _abc(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> dict[str, Field]:
    return {"a": Field("real", a), "b": Field("real", b), "c": Field("real", c)}


def _relu(x):
    return sp.Max(x, 0)


def _elu(x):
    return sp.Piecewise((x, x > 0), (expm1(sp.Min(x, 0)), True))


def _elu_derivative(x):
    return sp.Piecewise((1, x > 0), (sp.exp(sp.Min(x, 0)), True))


_ENTRIES = (
    ActivationEntry("identity", "x", lambda x: x, dual="polynomial:identity"),
    ActivationEntry("relu", "max(x, 0)", _relu, dual="piecewise_linear:relu"),
    ActivationEntry("leaky_relu", "max(x, 0) + alpha min(x, 0)",
                    lambda x, alpha: _relu(x) + alpha * sp.Min(x, 0),
                    {"alpha": Field("real", 0.01)}, dual="piecewise_linear:leaky_relu"),
    ActivationEntry("abrelu", "a min(x, 0) + b max(x, 0)", lambda x, a, b: a * sp.Min(x, 0) + b * _relu(x),
                    {"a": Field("real"), "b": Field("real")}, dual="piecewise_linear:abrelu"),
    ActivationEntry("abs", "abs(x)", sp.Abs, dual="piecewise_linear:absolute"),
    ActivationEntry("step", "1 if x > 0 else 0", sp.Heaviside, dual="piecewise_linear:step"),
    ActivationEntry("erf", "a erf(b x) + c", lambda x, a, b, c: a * sp.erf(b * x) + c, _abc(), dual="erf:erf"),
    ActivationEntry("gelu", "x Phi(x)", lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2, dual="gelu:gelu"),
    ActivationEntry("sin", "a sin(b x + c)", lambda x, a, b, c: a * sp.sin(b * x + c), _abc(), dual="trig:sin"),
    ActivationEntry("cos", "a cos(b x + c)", lambda x, a, b, c: a * sp.cos(b * x + c), _abc(), dual="trig:cos"),
    ActivationEntry("exp", "a exp(b x)", lambda x, a, b: a * sp.exp(b * x),
                    {"a": Field("real", 1.0), "b": Field("real", 1.0)}, dual="exponential:exp"),
    ActivationEntry("gaussian", "a exp(b x^2)", lambda x, a, b: a * sp.exp(b * x**2),
                    {"a": Field("real", 1.0), "b": Field("real", -1.0)}, dual="exponential:gaussian"),
    ActivationEntry("monomial", "x^degree", lambda x, degree: x ** int(degree),
                    {"degree": Field("degree")}, dual="polynomial:monomial"),
    ActivationEntry("rectified_monomial", "max(x, 0)^degree",
                    lambda x, degree: sp.Heaviside(x) if int(degree) == 0 else _relu(x) ** int(degree),
                    {"degree": Field("degree")}, dual="rectified_monomial:rectified_monomial"),
    ActivationEntry("polynomial", "sum_i coef[i] x^i",
                    lambda x, coef: sum((c * x**i for i, c in enumerate(coef)), sp.Integer(0)),
                    {"coef": Field("real_list")}, dual="polynomial:polynomial"),
    ActivationEntry("hermite", "He_degree(x) / sqrt(degree!)",
                    lambda x, degree: sp.expand(sp.hermite_prob(int(degree), x)) / sp.sqrt(sp.factorial(int(degree))),
                    {"degree": Field("degree")}, dual="polynomial:hermite"),
    ActivationEntry("tanh", "tanh(x)", sp.tanh, derivative=lambda x: 1 - sp.tanh(x) ** 2),
    ActivationEntry("sigmoid", "1 / (1 + exp(-x))", sigmoid, derivative=lambda x: sigmoid(x) * sigmoid(-x)),
    ActivationEntry("softplus", "log(1 + exp(x))", lambda x: _relu(x) + log1p(sp.exp(-sp.Abs(x))),
                    derivative=sigmoid),
    ActivationEntry("silu", "x sigmoid(x)", lambda x: x * sigmoid(x),
                    derivative=lambda x: sigmoid(x) * (1 + x * sigmoid(-x))),
    ActivationEntry("elu", "x if x > 0 else exp(x) - 1", _elu, derivative=_elu_derivative),
    ActivationEntry("selu", "scale * elu with alpha (Klambauer et al. 2017)",
                    lambda x: SELU_SCALE * sp.Piecewise((x, x > 0), (SELU_ALPHA * expm1(sp.Min(x, 0)), True)),
                    derivative=lambda x: SELU_SCALE * sp.Piecewise((1, x > 0), (SELU_ALPHA * sp.exp(sp.Min(x, 0)), True))),
)

ACTIVATIONS: MappingProxyType[str, ActivationEntry] = MappingProxyType({e.name: e for e in _ENTRIES})
