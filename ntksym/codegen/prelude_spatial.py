# Helpers for kernels of networks with convolutions and pooling, copied verbatim into the generated
# modules that need them (after prelude.py, whose `_entrywise` and `_residual_sum` they reuse).
# Spatial state (q11, t11, q22, t22, q12, t12, fan_in), fan_in = channels:
#   full mode:     q11 (n1, X, X[, Y, Y]), q12 (n1, n2, X, X[, Y, Y]): every pixel pair, the two copies of
#                  each spatial axis side by side (the layout of neural-tangents);
#   diagonal mode: q11 (n1, X[, Y]), q12 (n1, n2, X[, Y]): same-pixel covariances only.
# Formulas: Novak et al. 2019 (ICLR), "Bayesian deep convolutional networks with many channels are
# Gaussian processes"; Arora et al. 2019 (NeurIPS), "On exact computation with an infinitely wide neural net".

import jax.numpy as jnp
import numpy as np
from jax import lax


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

    return (q11, zeros(q11), q22, zeros(q22), q12, zeros(q12), jnp.asarray(c, x1.dtype))


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


def _entrywise_full(state, cross, diag, hp, width=None):
    """An entrywise layer on every pixel pair, variances from the pixel diagonals; exact forms on them."""
    q11, t11, q22, t22, q12, t12, fan_in = state
    d11, d22 = _pixel_diagonal(q11, 1), _pixel_diagonal(q22, 1)
    first, second = _spread(d11[:, None], 2, False), _spread(d22[None, :], 2, True)
    new_q12, new_t12, _ = cross(first, q12, second, t12, fan_in, None, hp)

    def same_input(q, t):
        d, e = _pixel_diagonal(q, 1), _pixel_diagonal(t, 1)
        off_q, off_t, _ = cross(_spread(d, 1, False), q, _spread(d, 1, True), t, fan_in, None, hp)
        on_q, on_t = diag(d, e, fan_in, hp)
        eye = _pixel_eye(d.shape[1:])
        on_q, on_t = jnp.broadcast_to(on_q, d.shape), jnp.broadcast_to(on_t, d.shape)
        return jnp.where(eye, _spread(on_q, 1, False), off_q), jnp.where(eye, _spread(on_t, 1, False), off_t)

    new_q11, new_t11 = same_input(q11, t11)
    new_q22, new_t22 = same_input(q22, t22)
    if width is not None:
        fan_in = jnp.asarray(width, fan_in.dtype)
    like = (q11, t11, q22, t22, q12, t12)
    new = (new_q11, new_t11, new_q22, new_t22, new_q12, new_t12)
    shaped = (jnp.broadcast_to(n, o.shape).astype(o.dtype) for n, o in zip(new, like, strict=True))
    return tuple(shaped) + (fan_in,)


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
    q11, t11, q22, t22, q12, t12, fan_in = state
    return (fn(q11, 1), fn(t11, 1), fn(q22, 1), fn(t22, 1), fn(q12, 2), fn(t12, 2), fan_in)


def _conv(state, affine, hp, full, window, stride, padding, width=None):
    """Conv: the patch average, then the dense affine map with fan_in = channels * filter size."""
    average = _patch_average_full if full else _patch_average_diagonal
    averaged = _map_state(state, lambda a, b: average(a, b, window, stride, padding))
    q11, t11, q22, t22, q12, t12, fan_in = averaged
    patch_fan_in = fan_in * np.prod(window)
    new = []
    for q, t in ((q11, t11), (q22, t22), (q12, t12)):
        new_q, new_t = affine(q, t, patch_fan_in, hp)
        new += [jnp.broadcast_to(new_q, q.shape).astype(q.dtype),
                jnp.broadcast_to(new_t, t.shape).astype(t.dtype)]
    fan_in = fan_in if width is None else jnp.asarray(width, fan_in.dtype)
    return (new[0], new[1], new[2], new[3], new[4], new[5], fan_in)


def _avg_pool(state, window, stride, padding):
    return _map_state(state, lambda a, b: _box_average_full(a, b, window, stride, padding))


def _global_avg_pool(state):
    """Mean over every pixel pair; the state is fully connected afterwards (fan_in stays = channels)."""
    return _map_state(state, lambda a, b: jnp.mean(a, axis=tuple(range(b, a.ndim))))


def _flatten(state, full):
    """Mean over the pixel diagonal; afterwards fan_in = pixels * channels (the flattened width)."""
    pixels = np.prod(_pixel_diagonal(state[0], 1).shape[1:] if full else state[0].shape[1:])

    def mean_diagonal(a, b):
        a = _pixel_diagonal(a, b) if full else a
        return jnp.mean(a, axis=tuple(range(b, a.ndim)))

    out = _map_state(state, mean_diagonal)
    return out[:6] + (out[6] * pixels,)
