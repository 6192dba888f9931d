# Helpers for kernels of networks with convolutions and pooling, copied verbatim into the generated
# modules that need them (after preludes/kernel.py, whose `_entrywise` and `_residual_sum` they reuse).
# Spatial state: preludes/kernel.py's `_State` with q12 and no gap, fan_in = channels:
#   full mode:     q11 (n1, X, X[, Y, Y]), q12 (n1, n2, X, X[, Y, Y]): every pixel pair, the two copies of
#                  each spatial axis side by side (the layout of neural-tangents);
#   diagonal mode: q11 (n1, X[, Y]), q12 (n1, n2, X[, Y]): same-pixel covariances only.
# Formulas: Novak et al. 2019 (ICLR), "Bayesian deep convolutional networks with many channels are
# Gaussian processes"; Arora et al. 2019 (NeurIPS), "On exact computation with an infinitely wide neural net".

import jax.numpy as jnp
import numpy as np
from jax import lax

from ntksym.codegen.preludes.kernel import _State  # stripped in generated modules, where it sits above


def _spatial_inputs(x1, x2, full):
    """Sigma^0(p, p') = <x(p), x'(p')> / C (a mean over channels), Theta^0 = 0; fan_in = C."""
    letters1, letters2 = "abd"[: x1.ndim - 2], "efg"[: x1.ndim - 2]
    if full:
        pairs = "".join(a + b for a, b in zip(letters1, letters2, strict=True))
        self_spec = f"n{letters1}c,n{letters2}c->n{pairs}"
        cross_spec = f"n{letters1}c,m{letters2}c->nm{pairs}"
    else:
        self_spec = f"n{letters1}c,n{letters1}c->n{letters1}"
        cross_spec = f"n{letters1}c,m{letters1}c->nm{letters1}"
    c = x1.shape[-1]

    def cov(spec, a, b):
        return jnp.einsum(spec, a, b, precision=lax.Precision.HIGHEST) / c

    q11, q22, q12 = cov(self_spec, x1, x1), cov(self_spec, x2, x2), cov(cross_spec, x1, x2)

    def zeros(a):
        # Theta^0 = 0 as a * 0, not a constant: XLA would constant-fold the first layer's patch sums of a
        # data-sized constant at compile time (minutes at a few hundred inputs); a * 0 costs one pass
        return a * 0

    return _State(q11, zeros(q11), q22, zeros(q22), q12, zeros(q12), jnp.asarray(c, x1.dtype))


def _pixel_diagonal(a, batch_ndim):
    """(batch..., X, X, Y, Y) -> (batch..., X, Y): the same-pixel entries of a full-mode kernel."""
    for _ in range((a.ndim - batch_ndim) // 2):
        a = jnp.diagonal(a, axis1=batch_ndim, axis2=batch_ndim + 1)  # the diagonal axis goes last
    return a


def _spread(d, batch_ndim, second):
    """(batch..., X, Y) -> (..., X, 1, Y, 1) for a pair's first pixel, (..., 1, X, 1, Y) for the second."""
    shape = d.shape[:batch_ndim]
    for n in d.shape[batch_ndim:]:
        shape += (1, n) if second else (n, 1)
    return d.reshape(shape)


def _pixel_eye(dims):
    """True where the two pixels of a pair coincide, shape (X, X, Y, Y)."""
    mask = np.ones((), bool)
    for n in dims:
        mask = np.multiply.outer(mask, np.eye(n, dtype=bool))
    return mask


def _stack(state):
    """The q's and the t's of a spatial state each as one array, its leading axis running over x1's inputs,
    x2's inputs, then the pairs (row-major): a layer is then one pass and one compiled loop, not three."""
    q11, t11, q22, t22, q12, t12 = state[:6]
    pixels = q11.shape[1:]

    def stack(a11, a22, a12):
        return jnp.concatenate([a11, a22, a12.reshape((-1,) + pixels)])

    return stack(q11, q22, q12), stack(t11, t22, t12)


def _unstack(q, t, n1, n2, fan_in):
    """Inverse of `_stack` for x1 of n1 and x2 of n2 inputs: the state (q11, t11, q22, t22, q12, t12, fan_in)."""
    out = []
    for a in (q, t):
        pixels = a.shape[1:]
        out.append((a[:n1], a[n1 : n1 + n2], a[n1 + n2 :].reshape((n1, n2) + pixels)))
    (q11, q22, q12), (t11, t22, t12) = out
    return _State(q11, t11, q22, t22, q12, t12, fan_in)


def _entrywise_full(state, cross, diag, hp, width=None):
    """An entrywise layer on every pixel pair, variances from the pixel diagonals; exact forms on them."""
    q11, t11, q22, t22, fan_in = state.q11, state.t11, state.q22, state.t22, state.fan_in
    n1, n2 = q11.shape[0], q22.shape[0]
    d11, d22 = _pixel_diagonal(q11, 1), _pixel_diagonal(q22, 1)
    d_self = jnp.concatenate([d11, d22])
    first = jnp.concatenate([d_self, jnp.repeat(d11, n2, axis=0)])  # the first input's pixel variances
    second = jnp.concatenate([d_self, jnp.tile(d22, (n1,) + (1,) * (d22.ndim - 1))])
    q, t = _stack(state)
    new_q, new_t, _ = cross(_spread(first, 1, False), q, _spread(second, 1, True), t, fan_in, None, hp)
    # constants (e.g. a zero NTK factor) come back as scalars: give them the state's shape and dtype
    new_q, new_t = (jnp.broadcast_to(a, q.shape).astype(q.dtype) for a in (new_q, new_t))
    # same-input entries on the pixel diagonal: the exact same-input forms
    on_q, on_t = diag(d_self, jnp.concatenate([_pixel_diagonal(t11, 1), _pixel_diagonal(t22, 1)]), fan_in, hp)
    on_q, on_t = (_spread(jnp.broadcast_to(a, d_self.shape), 1, False) for a in (on_q, on_t))
    eye = _pixel_eye(d_self.shape[1:])
    count = n1 + n2
    new_q = jnp.concatenate([jnp.where(eye, on_q, new_q[:count]), new_q[count:]])
    new_t = jnp.concatenate([jnp.where(eye, on_t, new_t[:count]), new_t[count:]])
    if width is not None:
        fan_in = jnp.asarray(width, fan_in.dtype)
    return _unstack(new_q, new_t, n1, n2, fan_in)


def _same_pads(n, k, s):
    """(low, high) padding of `lax.padtype_to_pads(..., "SAME")`: ceil(n / s) outputs."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _pads(shape, axes, window, stride, padding):
    """Per-axis pads for `axes`; CIRCULAR pads by wrapping first (`_wrap`), so it needs none here."""
    out = [(0, 0)] * len(shape)
    if padding == "SAME":
        for axis, k, s in zip(axes, window, stride, strict=True):
            out[axis] = _same_pads(shape[axis], k, s)
    return out


def _wrap(a, axes, window, stride, padding):
    """CIRCULAR: wrap around, with SAME's pad sizes (neural-tangents' `_same_pad_for_filter_shape`)."""
    if padding != "CIRCULAR":
        return a
    pads = [(0, 0)] * a.ndim
    for axis, k, s in zip(axes, window, stride, strict=True):
        pads[axis] = _same_pads(a.shape[axis], k, s)
    return jnp.pad(a, pads, mode="wrap")


def _patch_average_full(a, batch_ndim, window, stride, padding):
    """A(K)(p, p') = 1/|w| sum_d K(s p + d, s p' + d), separably per spatial axis (the 2-D sum over d is a
    product of 1-D ones): a convolution of each (x, x') plane with the identity filter, written as the sum
    of its k strided diagonal slices, which XLA fuses into one loop. On CPU this is about 5x faster than
    `lax.conv_general_dilated` with an identity filter (benchmarks/bench_spatial.py), and it avoids an
    XLA:CPU crash that conv met in float64 (jax 0.10)."""
    for i, (k, s) in enumerate(zip(window, stride, strict=True)):
        axis = batch_ndim + 2 * i
        n = a.shape[axis]
        m = -(-n // s) if padding != "VALID" else (n - k) // s + 1  # outputs along this axis
        pads = [(0, 0)] * a.ndim
        if padding != "VALID":
            pads[axis] = pads[axis + 1] = _same_pads(n, k, s)
        a = jnp.pad(a, pads, mode="wrap" if padding == "CIRCULAR" else "constant")
        taps = []
        for d in range(k):  # the k filter taps (not pixels): k static slices
            index = [slice(None)] * a.ndim
            index[axis] = index[axis + 1] = slice(d, d + s * (m - 1) + 1, s)
            taps.append(a[tuple(index)])
        a = sum(taps[1:], taps[0]) / k
    return a


def _patch_average_diagonal(a, batch_ndim, window, stride, padding):
    """A(K)(p, p) = 1/|w| sum_d K(s p + d, s p + d): a box sum of the pixel diagonal (reduce_window)."""
    axes = tuple(range(batch_ndim, a.ndim))
    a = _wrap(a, axes, window, stride, padding)
    ones = (1,) * batch_ndim
    pads = _pads(a.shape, axes, window, stride, padding)
    window, stride = ones + tuple(window), ones + tuple(stride)
    out = lax.reduce_window(a, np.array(0, a.dtype), lax.add, window, stride, pads)
    return out / np.prod(window)  # the ones of the batch axes do not change the product


def _box_average_full(a, batch_ndim, window, stride, padding):
    """avg_pool: 1/|w|^2 sum_{d, d'} K(s p + d, s p' + d') over both pixels' windows (reduce_window)."""
    axes = tuple(range(batch_ndim, a.ndim))
    window2 = tuple(int(k) for k in np.repeat(window, 2))
    stride2 = tuple(int(s) for s in np.repeat(stride, 2))
    a = _wrap(a, axes, window2, stride2, padding)
    ones = (1,) * batch_ndim
    pads = _pads(a.shape, axes, window2, stride2, padding)
    out = lax.reduce_window(a, np.array(0, a.dtype), lax.add, ones + window2, ones + stride2, pads)
    return out / np.prod(window) ** 2


def _map_state(state, fn):
    """Apply a linear map to every kernel of the state; `fn(array, batch_ndim)`."""
    q11, t11, q22, t22, q12, t12 = state[:6]
    return _State(fn(q11, 1), fn(t11, 1), fn(q22, 1), fn(t22, 1), fn(q12, 2), fn(t12, 2), state.fan_in)


def _conv(state, affine, hp, full, window, stride, padding, width=None):
    """Conv: the patch average, then the dense affine map with fan_in = channels * filter size."""
    average = _patch_average_full if full else _patch_average_diagonal
    q, t = _stack(state)
    averaged = average(jnp.concatenate([q, t]), 1, window, stride, padding)
    q, t = averaged[: q.shape[0]], averaged[q.shape[0] :]
    patch_fan_in = state.fan_in * np.prod(window)
    new_q, new_t = (jnp.broadcast_to(a, q.shape).astype(q.dtype) for a in affine(q, t, patch_fan_in, hp))
    fan_in = state.fan_in if width is None else jnp.asarray(width, state.fan_in.dtype)
    return _unstack(new_q, new_t, state.q11.shape[0], state.q22.shape[0], fan_in)


def _avg_pool(state, window, stride, padding):
    return _map_state(state, lambda a, b: _box_average_full(a, b, window, stride, padding))


def _global_avg_pool(state):
    """Mean over every pixel pair; the state is fully connected afterwards (fan_in stays = channels)."""
    return _map_state(state, lambda a, b: jnp.mean(a, axis=tuple(range(b, a.ndim))))


def _flatten(state, full):
    """Mean over the pixel diagonal; afterwards fan_in = pixels * channels (the flattened width)."""
    pixels = np.prod(_pixel_diagonal(state.q11, 1).shape[1:] if full else state.q11.shape[1:])

    def mean_diagonal(a, b):
        a = _pixel_diagonal(a, b) if full else a
        return jnp.mean(a, axis=tuple(range(b, a.ndim)))

    out = _map_state(state, mean_diagonal)
    return out._replace(fan_in=out.fan_in * pixels)
