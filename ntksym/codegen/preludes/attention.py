# Global self-attention on a full-mode spatial state (ntksym/layers/attention.py), copied verbatim into the
# generated modules that use the layer (after preludes/kernel.py and preludes/spatial.py, whose `_State` it reuses).
# Kernels of neural-tangents' `GlobalSelfAttention` without positional embeddings (Hron et al. 2020,
# "Infinite attention: NNGP and NTK for deep attention networks", ICML): linear scaling mixes every
# kernel with each input's own attention weights A = mech(logits(q11)), K -> A_x K A_x'^T; the 1/sqrt
# scaling (identity only) scales each pair's kernels by its sums over the pixel pairs.

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ntksym.codegen.preludes.kernel import _State  # stripped in generated modules, where it sits above


def _pairs_to_matrix(a, batch_ndim):
    """(batch..., X, X', Y, Y') -> (batch..., P, P'), P = X Y: the first pixel's axes, then the second's."""
    first = tuple(range(batch_ndim, a.ndim, 2))
    second = tuple(range(batch_ndim + 1, a.ndim, 2))
    a = jnp.transpose(a, tuple(range(batch_ndim)) + first + second)
    pixels = int(np.prod([a.shape[i] for i in range(batch_ndim, batch_ndim + len(first))]))
    return a.reshape(a.shape[:batch_ndim] + (pixels, pixels))


def _matrix_to_pairs(m, batch_ndim, dims):
    """Inverse of `_pairs_to_matrix` for the spatial dims (X[, Y])."""
    a = m.reshape(m.shape[:batch_ndim] + tuple(dims) + tuple(dims))
    k = len(dims)
    order = tuple(range(batch_ndim)) + tuple(j for i in range(k) for j in (batch_ndim + i, batch_ndim + k + i))
    return jnp.transpose(a, order)


def _attention_weights(logits, mechanism):
    """A(p, p') = mech(logits(p, p')); softmax normalises over the attended pixel p' (the last axis)."""
    if mechanism == "softmax":
        return jax.nn.softmax(logits, axis=-1)
    if mechanism == "relu":
        return jnp.maximum(logits, 0)
    if mechanism == "abs":
        return jnp.abs(logits)
    return logits


def _attention(state, logits, affine, hp, mechanism, linear_scaling, width=None):
    """Self-attention: linear scaling mixes, then `affine(M[q], M[t], hp)`; the 1/sqrt scaling calls
    `affine(q, t, s_qq, s_qt, hp)` with each pair's sums over pixel pairs s_qq = S[q, q], s_qt = S[q, t]."""
    q11, t11, q22, t22, q12, t12 = state[:6]
    hi = lax.Precision.HIGHEST
    if linear_scaling:
        dims = q11.shape[1::2]
        m11, m22 = _pairs_to_matrix(q11, 1), _pairs_to_matrix(q22, 1)
        a1 = _attention_weights(logits(m11, hp), mechanism)  # (n1, P, P'): each input's own weights
        a2 = _attention_weights(logits(m22, hp), mechanism)

        def mix(a, left, right, batch_ndim):  # M[K] = A_x K A_x'^T for every pair
            k = _pairs_to_matrix(a, batch_ndim)
            if batch_ndim == 2:
                left, right = left[:, None], right[None]
            k = jnp.matmul(jnp.matmul(left, k, precision=hi), jnp.swapaxes(right, -1, -2), precision=hi)
            return _matrix_to_pairs(k, batch_ndim, dims)

        pairs = [(mix(q11, a1, a1, 1), mix(t11, a1, a1, 1)), (mix(q22, a2, a2, 1), mix(t22, a2, a2, 1)),
                 (mix(q12, a1, a2, 2), mix(t12, a1, a2, 2))]
        out = [affine(q, t, hp) for q, t in pairs]
    else:
        def sums(q, t, batch_ndim):
            axes = tuple(range(batch_ndim, q.ndim))
            return jnp.sum(q * q, axis=axes, keepdims=True), jnp.sum(q * t, axis=axes, keepdims=True)

        pairs = [(q11, t11, 1), (q22, t22, 1), (q12, t12, 2)]
        out = [affine(q, t, *sums(q, t, b), hp) for q, t, b in pairs]
    shapes = (q11.shape, q22.shape, q12.shape)
    kernels = []
    for (new_q, new_t), shape in zip(out, shapes):  # constants come back as scalars: the state's shape
        kernels += [jnp.broadcast_to(a, shape).astype(q11.dtype) for a in (new_q, new_t)]
    fan_in = state.fan_in if width is None else jnp.asarray(width, state.fan_in.dtype)
    new_q11, new_t11, new_q22, new_t22, new_q12, new_t12 = kernels
    return _State(new_q11, new_t11, new_q22, new_t22, new_q12, new_t12, fan_in)
