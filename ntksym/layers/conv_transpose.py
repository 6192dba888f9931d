"""`conv_transpose`: a transposed convolution (neural-tangents' `ConvTranspose`), the upsampling layer of
GAN generators and U-Net decoders.

The layer is `lax.conv_transpose`: the input is dilated by the stride (s - 1 zeros between pixels), padded,
then convolved at stride 1. Its kernel is the convolution's patch average on the dilated, padded
covariances, then the dense layer's affine map with fan_in = channels * filter size (the same
parameterization as `conv`; Novak et al. 2019 for the patch average). Output size per axis: n s for SAME
and CIRCULAR, n s + max(k - s, 0) for VALID; CIRCULAR takes the VALID output and adds each pixel that
falls off the n s period back onto it (wrap-around). The pixel diagonal of the output depends only on
that of the input, so a transposed convolution does not need every pixel pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ntksym.layers.base import PADDING_TEXT, window_text
from ntksym.layers.conv import ConvKind
from ntksym.lazy import _net_check_rank, jnp, lax
from ntksym.spec.schema import Conv


@dataclass(frozen=True)
class ConvTranspose(Conv):
    kind: ClassVar[str] = "conv_transpose"


def transpose_pads(k: int, s: int, padding: str) -> tuple[int, int]:
    """(low, high) zero padding of the dilated input, those of `lax.conv_transpose` (SAME: n s outputs;
    VALID and, before wrapping, CIRCULAR: n s + max(k - s, 0))."""
    if padding == "SAME":
        total = k + s - 2
        low = k - 1 if s > k - 1 else -(-total // 2)
    else:
        total = k + s - 2 + max(k - s, 0)
        low = k - 1
    return low, total - low


def transpose_dims(dims, window, stride, padding):
    return tuple(n * s + (max(k - s, 0) if padding == "VALID" else 0)
                 for n, k, s in zip(dims, window, stride, strict=True))


def _net_conv_transpose_params(shape, rec, width, stack):
    channels = rec[3] if width is None else int(width)  # check's width sweeps set every hidden layer's
    _net_check_rank(shape, rec[4], "conv_transpose")
    fan_in = shape[-1] * int(np.prod(rec[4]))
    layer = {"w": ("param", stack + tuple(rec[4]) + (shape[-1], channels), rec[1] / fan_in**0.5)}
    if rec[2] is not None:
        layer["b"] = ("param", stack + (channels,), rec[2])
    out = tuple(n * s + (max(k - s, 0) if rec[6] == "VALID" else 0)
                for n, k, s in zip(shape[:-1], rec[4], rec[5], strict=True))
    return layer, out + (channels,)


def _net_conv_transpose_apply(p, h, rec, parameterization):
    """z = w_std / sqrt(C k) conv_transpose(h, W) + b_std b (ntk; standard: W, b pre-scaled). CIRCULAR:
    the VALID output folded onto the n s period (output pixel m collects m + low + j n s)."""
    window, stride, padding = rec[4], rec[5], rec[6]
    letters = "HW"[: len(window)]
    numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")
    z = lax.conv_transpose(h, p["w"], stride, "VALID" if padding == "CIRCULAR" else padding,
                           dimension_numbers=numbers, precision=lax.Precision.HIGHEST)
    if padding == "CIRCULAR":
        for axis, (n, k, s) in enumerate(zip(h.shape[1:-1], window, stride, strict=True), start=1):
            period, low, size = n * s, max(k - s, 0) // 2, z.shape[axis]
            front = (-low) % period
            total = -(-(size + front) // period) * period
            pads = [(0, 0)] * z.ndim
            pads[axis] = (front, total - size - front)
            z = jnp.pad(z, pads)
            z = z.reshape(z.shape[:axis] + (total // period, period) + z.shape[axis + 1 :]).sum(axis=axis)
    if parameterization == "ntk":
        z = rec[1] / (h.shape[-1] * int(np.prod(window))) ** 0.5 * z
        return z + rec[2] * p["b"] if "b" in p else z
    return z + p["b"] if "b" in p else z


class ConvTransposeKind(ConvKind):
    key = "conv_transpose"
    doc = "transposed convolution (upsampling by the stride)"
    layer_class = ConvTranspose
    depth_analysed = False  # upsampling: checkerboard patterns, no translation-invariant fixed point
    helper = "_conv_transpose"
    kernel_helpers = '''
def _transpose_pads(k, s, padding):
    """(low, high) zero padding of the dilated input, as `lax.conv_transpose` pads it."""
    if padding == "SAME":
        total = k + s - 2
        low = k - 1 if s > k - 1 else -(-total // 2)
    else:
        total = k + s - 2 + max(k - s, 0)
        low = k - 1
    return low, total - low


def _fold(a, axis, period, low):
    """out[m] = sum_j a[m + low + j period] along `axis` (length `period`): CIRCULAR's wrap-around."""
    n = a.shape[axis]
    front = (-low) % period
    total = -(-(n + front) // period) * period
    pads = [(0, 0)] * a.ndim
    pads[axis] = (front, total - n - front)
    a = jnp.pad(a, pads)
    return a.reshape(a.shape[:axis] + (total // period, period) + a.shape[axis + 1 :]).sum(axis=axis)


def _transpose_average(a, batch_ndim, window, stride, padding, full):
    """The patch average of a transposed convolution: each spatial axis (both copies in full mode) dilated by
    its stride and padded like `lax.conv_transpose`, then the stride-1 VALID patch average; CIRCULAR folds
    the VALID result onto the n s period."""
    per_axis = 2 if full else 1
    sizes = [a.shape[batch_ndim + per_axis * i] for i in range(len(window))]
    config = [(0, 0, 0)] * a.ndim
    for i, (k, s) in enumerate(zip(window, stride)):
        low, high = _transpose_pads(k, s, "VALID" if padding == "CIRCULAR" else padding)
        for j in range(per_axis):
            config[batch_ndim + per_axis * i + j] = (low, high, s - 1)
    a = lax.pad(a, np.array(0, a.dtype), config)
    ones = (1,) * len(window)
    average = _patch_average_full if full else _patch_average_diagonal
    a = average(a, batch_ndim, window, ones, "VALID")
    if padding == "CIRCULAR":
        for i, (n, k, s) in enumerate(zip(sizes, window, stride)):
            for j in range(per_axis):
                a = _fold(a, batch_ndim + per_axis * i + j, n * s, max(k - s, 0) // 2)
    return a


def _conv_transpose(state, affine, hp, full, window, stride, padding, width=None):
    """Transposed conv: the transposed patch average, then the dense affine map (fan_in = C * filter size)."""
    q, t = _stack(state)
    averaged = _transpose_average(jnp.concatenate([q, t]), 1, window, stride, padding, full)
    q, t = averaged[: q.shape[0]], averaged[q.shape[0] :]
    patch_fan_in = state.fan_in * np.prod(window)
    new_q, new_t = (jnp.broadcast_to(a, q.shape).astype(q.dtype) for a in affine(q, t, patch_fan_in, hp))
    fan_in = state.fan_in if width is None else jnp.asarray(width, state.fan_in.dtype)
    return _unstack(new_q, new_t, state.q11.shape[0], state.q22.shape[0], fan_in)
'''
    network_weights = (_net_conv_transpose_params, _net_conv_transpose_apply)

    def spatial_shape(self, step, dims):
        return transpose_dims(dims, step.window, step.stride, step.padding)

    def check_shape(self, step, dims):
        """A stride larger than the filter leaves output pixels that no input reaches."""
        from ntksym.errors import DerivationError

        for k, s in zip(step.window, step.stride, strict=True):
            if s > k:
                raise DerivationError(
                    f"{step.path}: stride {list(step.stride)} is larger than filter {list(step.window)}, so "
                    "some output pixels would get no input (only the bias); use a filter at least as large as "
                    f"the stride, e.g. `filter: {[max(s, k) for k, s in zip(step.window, step.stride)]}`")

    def text(self, step, indent):
        lines = super().text(step, indent)
        lines[0] = (f"{indent}    A[K](p, p') = 1/{math.prod(step.window)} sum_(d in "
                    f"{window_text(step.window)}) K~(p + d, p' + d), K~ = K dilated by s = {list(step.stride)} "
                    f"and padded as lax.conv_transpose pads, {PADDING_TEXT[step.padding]}")
        return lines

    def latex(self, step):
        lines = super().latex(step)
        lines[0] = (rf"A[K](p, p') &= \frac{{1}}{{{math.prod(step.window)}}} \sum_{{d}} \tilde K(p + d, p' + d),"
                    rf"\ \tilde K = K \text{{ dilated by }} s = {list(step.stride)} \quad \text{{({step.padding})}}\\")
        return lines


KIND = ConvTransposeKind()
