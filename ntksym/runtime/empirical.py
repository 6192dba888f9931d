"""Empirical kernels of finite networks: the NTK J J^T and the Monte Carlo NNGP.

The empirical NTK is the kernel shared by every output unit (SPEC_FORMAT.md's convention),
    Theta_ij = (1/k) sum_o <df_o(x_i)/dtheta, df_o(x_j)/dtheta>     (Jacot et al. 2018),
computed either
- `fast`: layer by layer, Theta = sum_l c_w <a_l(x), a_l(x')> <g_l(x), g_l(x')> + c_b <g_l(x), g_l(x')>,
  with a_l the inputs of dense layer l and g_l = df/dz_l its backpropagated gradients (the
  factorisation of a dense layer's Jacobian, as in Novak et al. 2022, "Fast finite width neural tangent
  kernel", structured derivatives); a conv layer contributes
  c_w sum_{p,p'} <g(p), g'(p')> <patch(p), patch'(p')> + c_b <sum_p g(p), sum_p g'(p)> over output pixels,
  contracted as the Gram of its per-example weight gradients sum_p patch(p) g(p)^T when that is cheaper;
  pooling, flatten and layer_norm have no parameters and only shape g; the Jacobian is never
  materialised; or
- `generic`: contracting the Jacobian jax.jacrev(apply) leaf by leaf (works for any architecture).
The Monte Carlo NNGP averages over many initialisations (vmapped) either the output products f f^T or,
for a network ending in a dense layer, their exact expectation over the readout layer's weights,
w^2 <a(x), a(x')>/fan_in + b^2, which has far less variance (Rao-Blackwellisation; Lee et al. 2018
and Novak et al. 2019 compare analytic and Monte Carlo NNGPs the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from ntksym.codegen.preludes import network as P
from ntksym.errors import InputError
from ntksym.runtime.network import Network, Params

# parameterless kinds with their own finite-network functions add no NTK term, so the fast path takes them
FAST_KINDS = frozenset(
    {"dense", "act", "layer_norm", "repeat", "residual", "conv", "avg_pool", "global_avg_pool", "flatten",
     "branches"}
) | frozenset(P.LAYERS)
METHODS = ("auto", "fast", "generic")


def _kinds(records: tuple) -> set[str]:
    kinds = set()
    for rec in records:
        kinds.add(rec[0])
        if rec[0] in ("repeat", "residual"):
            kinds |= _kinds(rec[2])
        elif rec[0] == "branches":
            for path in rec[2]:
                kinds |= _kinds(path)
    return kinds


def has_fast_path(net: Network) -> bool:
    """True when every layer is one the layer-factorised NTK knows (dense and conv stacks, pooling, flatten)."""
    return _kinds(net.records) <= FAST_KINDS


def empirical_ntk(
    params: Params, x1: ArrayLike, x2: ArrayLike | None = None, method: str = "auto", batch_size: int | None = None
) -> jax.Array:
    """Empirical NTK (n1, n2) of one finite network; x2=None means x1. method: auto | fast | generic."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    net = params.network
    x1 = jnp.asarray(x1)
    x2 = None if x2 is None else jnp.asarray(x2)
    if method == "fast" and not has_fast_path(net):
        raise InputError(
            f"spec `{net.spec.name}` has layers without a fast path; use method='generic' or 'auto'"
        )
    if method in ("auto", "fast") and has_fast_path(net):
        return P.empirical_ntk_jit(
            params.layers, x1, x2, net.records, net.activations, net.parameterization
        )
    return generic_ntk(net.apply, params, x1, x2, batch_size)


def generic_ntk(apply_fn: Callable, params: Any, x1: ArrayLike, x2: ArrayLike | None = None, batch_size: int | None = None) -> jax.Array:
    """(1/k) sum_o J_o(x1) J_o(x2)^T by contracting jax.jacrev(apply_fn) per parameter leaf.

    `batch_size` bounds memory: the Jacobian of at most that many inputs is held at once.
    """
    x1 = jnp.asarray(x1)
    same = x2 is None
    x2 = x1 if same else jnp.asarray(x2)
    step = batch_size or max(x1.shape[0], x2.shape[0])
    jacobian = _jacobian(apply_fn)

    def flat(x):
        leaves = jax.tree_util.tree_leaves(jacobian(params, x))
        return [leaf.reshape(leaf.shape[0], leaf.shape[1], -1) for leaf in leaves]

    rows = []
    for i in range(0, x1.shape[0], step):
        j1 = flat(x1[i : i + step])
        cols = []
        for j in range(0, x2.shape[0], step):
            j2 = j1 if same and i == j else flat(x2[j : j + step])
            cols.append(P.contract_jacobians(j1, j2))
        rows.append(jnp.concatenate(cols, axis=1))
    return jnp.concatenate(rows, axis=0)


def monte_carlo_nngp(
    net: Network,
    x: ArrayLike,
    *,
    width: int | None = None,
    samples: int = 64,
    key: jax.Array | None = None,
    readout: bool | None = None,
    batch: int = 16,
    dtype: jax.typing.DTypeLike | None = None,
) -> jax.Array:
    """The NNGP (n, n) averaged over `samples` fresh networks (vmapped in batches of `batch`).

    readout=True uses the exact expectation over the last dense layer (needs a network ending in one);
    readout=False the raw outputs' second moment (the prior mean is zero), averaged over output units.
    """
    if samples < 1:
        raise InputError(f"samples must be >= 1, got {samples}")
    readout = net.ends_with_dense if readout is None else readout
    if readout and not net.ends_with_dense:
        raise InputError(f"spec `{net.spec.name}` does not end with a dense layer; use readout=False")
    x = jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype)
    key = jax.random.PRNGKey(0) if key is None else key

    batched = _nngp_batch(net, width, readout, str(x.dtype), int(np.prod(x.shape[1:])))
    keys = jax.random.split(key, samples)
    total: Any = 0.0  # a jax array once the first batch is added
    for start in range(0, samples, batch):
        total = total + batched(keys[start : start + batch], x).sum(0)
    return total / samples


@lru_cache(maxsize=64)
def _jacobian(apply_fn: Callable) -> Callable:
    """jit(jacrev(apply_fn)), compiled once per function (bound methods of one network compare equal)."""
    return jax.jit(jax.jacrev(apply_fn))


@lru_cache(maxsize=64)
def _nngp_batch(net: Network, width: int | None, readout: bool, dtype: str, dim: int) -> Callable:
    """A compiled function: keys (b, 2), x -> the b networks' NNGP estimates (b, n, n); cached per network."""

    def one(key, x):
        p = net.init(key, width, dim)
        layers = jax.tree_util.tree_map(lambda a: a.astype(dtype), p.layers)
        if readout:
            return P.readout_nngp(layers, x, None, net.records, net.activations, net.parameterization)
        f = P.apply(layers, x, net.records, net.activations, net.parameterization)
        return f @ f.T / f.shape[-1]

    # the architecture is static: init's Python shape checks run once, at trace time
    return jax.jit(jax.vmap(one, in_axes=(0, None)))
