"""The finite network built from a spec: init and apply in JAX with the spec's parameterization and widths.

    net = network(spec)                        # or init(key, spec, width=256) directly
    params = net.init(jax.random.PRNGKey(0), width=256)
    f = apply(params, x)                       # (n, k); params carry their architecture

ntk parameterization (Jacot et al. 2018): z = w_std / sqrt(fan_in) W x + b_std b, W and b standard normal.
standard parameterization (Sohl-Dickstein et al. 2020): W ~ N(0, w_std^2 / fan_in), b ~ N(0, b_std^2),
z = W x + b. Convolutions (Novak et al. 2019) use fan_in = C_in * filter size and inputs
(n, [height,] width, channels), neural-tangents' conventions. The layers themselves are interpreted by
`ntksym.codegen.preludes.network`, the same code that every generated module carries, so the runtime and
the generated module build the same network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jax
import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from ntksym.codegen.architecture import Architecture, build_architecture
from ntksym.codegen.preludes import network as P
from ntksym.codegen.printer import KernelPrinter
from ntksym.errors import InputError
from ntksym.layers import LAYERS
from ntksym.spec.schema import Spec
from ntksym.symbolic.state import x as X

# the finite-network functions of kinds defined in their own module (generated modules copy them in)
P.LAYERS.update(
    {key: (kind.on_pixels, *kind.network_functions) for key, kind in LAYERS.items() if kind.network_functions}
)
P.WEIGHTED.update(
    {key: (kind.on_pixels, *kind.network_weights) for key, kind in LAYERS.items() if kind.network_weights}
)


def activation_function(expr: sp.Expr) -> Callable:
    """phi as a jnp function: the SymPy form printed by KernelPrinter (never user text) into a lambda."""
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    from jax import lax

    return sp.lambdify(X, expr, modules=[{"jnp": jnp, "jsp": jsp, "lax": lax}], printer=KernelPrinter())


@dataclass(frozen=True, eq=False)
class Network:
    """A spec's finite network: architecture records, activation functions, input dimension."""

    spec: Spec
    architecture: Architecture
    activations: tuple[Callable, ...]
    input_dim: int | None

    @property
    def records(self) -> tuple:
        return self.architecture.records

    @property
    def parameterization(self) -> str:
        return self.architecture.parameterization

    @property
    def ends_with_dense(self) -> bool:
        return bool(self.records) and self.records[-1][0] == "dense"

    def init(self, key: jax.Array, width: int | None = None, input_dim: int | None = None) -> Params:
        """Fresh parameters; `width` replaces every hidden dense layer's width and every conv's channels
        (the output keeps its own). Spatial networks take their input shape from the spec."""
        dim: int | tuple[int, ...] | None
        dim = input_dim or self.input_dim
        if P.is_spatial(self.records):
            shape = self.spec.input_shape
            if shape is None or len(shape) < 2:
                raise InputError(
                    f"spec `{self.spec.name}` has conv/pooling layers: give it input_shape: "
                    "[width, channels] or [height, width, channels]"
                )
            if dim is not None and int(dim) != int(np.prod(shape)):
                raise InputError(
                    f"input_dim={dim} does not match the spec's input_shape {list(shape)} "
                    f"({int(np.prod(shape))} numbers); leave input_dim out"
                )
            dim = tuple(int(n) for n in shape)
        elif dim is None:
            raise InputError(
                f"spec `{self.spec.name}` has no input_shape: pass input_dim= (the number of features)"
            )
        if width is not None and (int(width) != width or width < 1):
            raise InputError(f"width must be a whole number >= 1, got {width}")
        try:
            layers = _compiled_init(self, None if width is None else int(width), dim)(key)
        except ValueError as exc:
            raise InputError(f"spec `{self.spec.name}`: {exc}") from None
        return Params(layers, self)

    def apply(self, params: Params | list, x: ArrayLike) -> jax.Array:
        layers = params.layers if isinstance(params, Params) else params
        return P.apply_jit(
            layers, jax.numpy.asarray(x), self.records, self.activations, self.parameterization
        )


@lru_cache(maxsize=128)
def _compiled_init(net: Network, width: int | None, dim: int | tuple[int, ...]) -> Callable:
    """init for one (network, width, input dimension or shape), compiled once: key -> parameter list."""
    return jax.jit(lambda key: P.init(key, net.records, dim, net.parameterization, width)[0])


@jax.tree_util.register_pytree_node_class
class Params:
    """The network's weights (a list per layer) together with the network they belong to (static)."""

    def __init__(self, layers: list, network: Network):
        self.layers, self.network = layers, network

    def tree_flatten(self) -> tuple[tuple[list], Network]:
        return (self.layers,), self.network

    @classmethod
    def tree_unflatten(cls, network: Network, children: Sequence[list]) -> Params:
        return cls(children[0], network)

    def __repr__(self) -> str:
        count = sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(self.layers))
        return f"Params(spec={self.network.spec.name!r}, parameters={count})"


def network(spec: Spec, hyperparameters: dict[str, float] | None = None) -> Network:
    """The finite network of `spec`; `hyperparameters` override the spec's values.

    Cached, so that repeated calls share one network and its compiled functions."""
    return _network(spec, tuple(sorted((hyperparameters or {}).items())))


@lru_cache(maxsize=64)
def _network(spec: Spec, hyperparameters: tuple[tuple[str, float], ...]) -> Network:
    arch = build_architecture(spec, dict(hyperparameters))
    dim = None if spec.input_shape is None else int(np.prod(spec.input_shape))
    return Network(spec, arch, tuple(activation_function(e) for e in arch.activations), dim)


def init(
    key: jax.Array,
    spec: Spec,
    width: int | None = None,
    *,
    input_dim: int | None = None,
    hyperparameters: dict[str, float] | None = None,
) -> Params:
    """Parameters of `spec`'s finite network with hidden width `width` (default: the spec's, else 512)."""
    return network(spec, hyperparameters).init(key, width, input_dim)


def input_dim_of(x: ArrayLike) -> int:
    """Features per example of x (its trailing axes flattened): `init`'s input_dim for a fully connected net."""
    return int(np.prod(np.shape(x)[1:]))


def apply(params: Params, x: ArrayLike) -> jax.Array:
    """Outputs (n, k) of the network `params` belong to."""
    return params.network.apply(params, x)
