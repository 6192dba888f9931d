"""`conv_local`: a locally connected layer (neural-tangents' `ConvLocal`): a convolution whose filter is not
shared, each output pixel has its own weights and bias.

Independent weights at different pixels make the output covariance of two different pixels zero, and the
same-pixel covariance that of a convolution: Sigma'(p, p) = w^2 A[Sigma](p, p) + b^2 and Sigma'(p, p') = 0
for p != p' (Novak et al. 2019, section 5.1: the infinite locally connected network's kernel is the CNN
kernel without pooling's off-diagonal terms). The NTK likewise. With only a flatten after it, that is the
convolution's kernel on the pixel diagonal; a pooling layer afterwards sees the zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ntksym.layers.conv import ConvKind
from ntksym.lazy import _net_check_rank, _net_out_dims, _net_pad, lax
from ntksym.spec.schema import Conv


@dataclass(frozen=True)
class ConvLocal(Conv):
    kind: ClassVar[str] = "conv_local"


def _net_conv_local_params(shape, rec, width, stack):
    channels = rec[3] if width is None else int(width)  # check's width sweeps set every hidden layer's
    _net_check_rank(shape, rec[4], "conv_local")
    patch = shape[-1] * int(np.prod(rec[4]))
    out = _net_out_dims(shape[:-1], rec[4], rec[5], rec[6])
    layer = {"w": ("param", stack + out + (patch, channels), rec[1] / patch**0.5)}
    if rec[2] is not None:
        layer["b"] = ("param", stack + out + (channels,), rec[2])
    return layer, out + (channels,)


def _net_conv_local_apply(p, h, rec, parameterization):
    """z(p) = w_std / sqrt(C k) sum_d W_p[d] h(s p + d) + b_std b_p (ntk; standard: W, b pre-scaled)."""
    window, stride, padding = rec[4], rec[5], rec[6]
    h = _net_pad(h, window, stride, padding)
    letters = "HW"[: len(window)]
    numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")
    z = lax.conv_general_dilated_local(h, p["w"], stride, "VALID", window, dimension_numbers=numbers,
                                       precision=lax.Precision.HIGHEST)
    if parameterization == "ntk":
        z = rec[1] / (h.shape[-1] * int(np.prod(window))) ** 0.5 * z
        return z + rec[2] * p["b"] if "b" in p else z
    return z + p["b"] if "b" in p else z


class ConvLocalKind(ConvKind):
    key = "conv_local"
    doc = "locally connected convolution: no weight sharing across pixels"
    layer_class = ConvLocal
    depth_analysed = False  # not analysed (no weight sharing: the pixel diagonal is dense-like, not checked)
    helper = "_conv_local"
    kernel_helpers = '''
def _conv_local(state, affine, hp, full, window, stride, padding, width=None):
    """Locally connected: the convolution's kernel on the pixel diagonal, zero between different pixels."""
    if not full:
        return _conv(state, affine, hp, full, window, stride, padding, width)
    diagonal = _State(*(_pixel_diagonal(a, 2 if a.ndim == state.q12.ndim else 1) for a in state[:6]),
                      state.fan_in)
    out = _conv(diagonal, affine, hp, False, window, stride, padding, width)

    def embed(d, batch_ndim):  # the same-pixel values on the pixel diagonal, zeros elsewhere
        eye = _pixel_eye(d.shape[batch_ndim:])
        return jnp.where(eye, _spread(d, batch_ndim, False), jnp.zeros((), d.dtype))

    return _map_state(out, embed)
'''
    network_weights = (_net_conv_local_params, _net_conv_local_apply)

    def text(self, step, indent):
        lines = super().text(step, indent)
        return lines + [f"{indent}    q12'(p, p') = t12'(p, p') = 0 for p != p'   (no weight sharing)"]

    def latex(self, step):
        return super().latex(step) + [r"q_{12}'(p, p') &= t_{12}'(p, p') = 0 \quad (p \neq p')\\"]


KIND = ConvLocalKind()
