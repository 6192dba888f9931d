"""An independent NNGP / NTK recursion in plain numpy, for checking ntksym's generated kernels.

It reads a spec's YAML `layers` directly (hyperparameter names replaced by their values) and shares no
code with ntksym. Covered: dense (ntk and standard parameterization), repeat, residual, branches, layer_norm,
conv (1-D / 2-D, SAME / VALID / CIRCULAR, strides), avg_pool, flatten, global_avg_pool, and the activations relu,
identity, abs, erf, leaky_relu / abrelu, monomial, the example specs' expressions (x**3 - a*x, a Piecewise leaky
ReLU, a rectified square) and tanh (by a trapezoid rule, spectrally accurate for analytic integrands).

The state over n inputs with spatial shape S is the full kernel, shape (n, n, *S, *S): inputs a, b and
positions i, j. Conventions are SPEC_FORMAT.md's (those of neural-tangents); formulas THEORY.md's
(Cho & Saul 2009 arc-cosine kernels, Williams 1997 for erf, Wick for polynomials).
"""

from __future__ import annotations

import math

import numpy as np
import yaml

# trapezoid nodes for the activations without a closed form: tanh(sqrt(q) z) has poles pi / (2 sqrt q) off the real
# axis, so the error grows with q; h = 0.1 was 3.4e-6 off at q ~ 25 (specs/tanh_resnet_depth.yaml, 50 residual blocks)
_Z = np.linspace(-9.0, 9.0, 361)  # h = 0.05
_W = np.exp(-_Z * _Z / 2) * (_Z[1] - _Z[0]) / math.sqrt(2 * math.pi)


def _angle(q11, q12, q22):
    """sqrt(q11 q22), the correlation and its angle. Scaled by the larger variance, so that the product
    cannot underflow and identical inputs (q11 = q12 = q22) get rho = 1 exactly (not 1 - 1 ulp, whose
    angle would be sqrt(eps))."""
    norm = np.sqrt(q11) * np.sqrt(q22)
    scale = np.maximum(q11, q22)
    safe = np.where(scale > 0, scale, 1.0)
    denominator = np.sqrt((q11 / safe) * (q22 / safe))
    rho = np.divide(q12 / safe, denominator, out=np.ones_like(q12), where=denominator > 0)
    rho = np.clip(rho, -1.0, 1.0)
    return norm, rho, np.arccos(rho)


def _arccos_kernel(q11, q12, q22, degree: int):
    """E[relu(u)^n relu(v)^n] = (q11 q22)^(n/2) J_n(theta) / (2 pi) (Cho & Saul 2009)."""
    norm, rho, theta = _angle(q11, q12, q22)
    s = np.sqrt(np.maximum(1.0 - rho * rho, 0.0))
    j = {0: math.pi - theta, 1: s + (math.pi - theta) * rho,
         2: 3 * s * rho + (math.pi - theta) * (1 + 2 * rho * rho)}[degree]
    return norm**degree * j / (2 * math.pi)


def _abrelu(a: float, b: float):
    """phi = a min(x, 0) + b max(x, 0) = b relu(x) - a relu(-x)."""

    def duals(q11, q12, q22):
        plus, minus = _arccos_kernel(q11, q12, q22, 1), _arccos_kernel(q11, -q12, q22, 1)
        # E[relu(u) relu(-v)] = E[relu(u) relu(v')] with v' = -v
        value = (a * a + b * b) * plus - 2 * a * b * minus
        dplus, dminus = _arccos_kernel(q11, q12, q22, 0), _arccos_kernel(q11, -q12, q22, 0)
        return value, (a * a + b * b) * dplus + 2 * a * b * dminus

    return duals


def _erf(q11, q12, q22):
    value = (2 / math.pi) * np.arcsin(2 * q12 / np.sqrt((1 + 2 * q11) * (1 + 2 * q22)))
    return value, 4 / (math.pi * np.sqrt((1 + 2 * q11) * (1 + 2 * q22) - 4 * q12 * q12))


def _abs(q11, q12, q22):
    norm, rho, _ = _angle(q11, q12, q22)
    value = (2 * norm / math.pi) * (np.sqrt(np.maximum(1 - rho * rho, 0.0)) + rho * np.arcsin(rho))
    return value, (2 / math.pi) * np.arcsin(rho)


def _cubic(a: float):
    """phi = x^3 - a x by Wick / Isserlis."""

    def duals(q11, q12, q22):
        value = 9 * q11 * q22 * q12 + 6 * q12**3 - 3 * a * (q11 + q22) * q12 + a * a * q12
        return value, 9 * (q11 * q22 + 2 * q12 * q12) - 3 * a * (q11 + q22) + a * a

    return duals


def _square(q11, q12, q22):
    return q11 * q22 + 2 * q12 * q12, 4 * q12


def _rectified_square(q11, q12, q22):
    return _arccos_kernel(q11, q12, q22, 2), 4 * _arccos_kernel(q11, q12, q22, 1)


def _trapezoid(f, df):
    def duals(q11, q12, q22):
        norm, rho, _ = _angle(q11, q12, q22)
        s = np.sqrt(np.maximum(1 - rho * rho, 0.0))[..., None, None]
        a, b, r = np.sqrt(q11)[..., None, None], np.sqrt(q22)[..., None, None], rho[..., None, None]
        z1, z2 = _Z[:, None], _Z[None, :]
        u, v = a * z1, b * (r * z1 + s * z2)
        w = _W[:, None] * _W[None, :]
        return (f(u) * f(v) * w).sum((-2, -1)), (df(u) * df(v) * w).sum((-2, -1))

    return duals


def _tanh_duals():
    return _trapezoid(np.tanh, lambda x: 1 / np.cosh(x) ** 2)


def _activation(params, hp) -> callable:
    if isinstance(params, str):
        params = {"name": params}
    if "expr" in params:
        expr = params["expr"].replace(" ", "")
        for name, value in hp.items():
            expr = expr.replace(f"*{name}", f"*{value!r}").replace(f"{name}*", f"{value!r}*")
        known = {"x**3-0.5*x": _cubic(0.5),
                 "Piecewise((x,x>0),(0.2*x,True))": _abrelu(0.2, 1.0),
                 "Piecewise((x**2,x>0),(0,True))": _rectified_square}
        return known[expr]
    name = params["name"]
    if name == "relu":
        return _abrelu(0.0, 1.0)
    if name == "identity":
        return _abrelu(1.0, 1.0)
    if name == "leaky_relu":
        return _abrelu(params.get("alpha", 0.01), 1.0)
    if name == "abrelu":
        return _abrelu(params["a"], params["b"])
    if name == "monomial" and params["degree"] == 2:
        return _square
    assert set(params) == {"name"}, params  # erf(x), |x|, tanh(x) without parameters only
    return {"erf": _erf, "abs": _abs, "tanh": _tanh_duals()}[name]


def _pads(n: int, k: int, s: int, padding: str) -> tuple[int, int]:
    """(output size, low padding) in lax's conventions (neural-tangents' SAME and CIRCULAR)."""
    if padding == "VALID":
        return (n - k) // s + 1, 0
    m = -(-n // s)
    return m, max((m - 1) * s + k - n, 0) // 2


class Kernels:
    """Kernels of n inputs through a layer list: `nngp`, `ntk` of shape (n, n, *S, *S)."""

    def __init__(self, x: np.ndarray, parameterization: str = "ntk"):
        x = np.asarray(x, np.float64)
        self.spatial = x.ndim - 2
        self.parameterization = parameterization
        channels = x.shape[-1]
        s = self.spatial
        # <x_a(i), x_b(j)> / channels: (n, *S) x (n, *S) -> (n, n, *S, *S)
        letters = "ijklm"[:s]
        other = "pqrst"[:s]
        self.nngp = np.einsum(f"a{letters}c,b{other}c->ab{letters}{other}", x, x) / channels
        self.ntk = np.zeros_like(self.nngp)
        self.fan_in = channels  # the standard parameterization's NTK needs it

    def diagonal(self) -> np.ndarray:
        """Var(a, i): the kernel at the same input and the same position, shape (n, *S)."""
        n, s = self.nngp.shape[0], self.spatial
        k = self.nngp[np.arange(n), np.arange(n)]  # (n, *S, *S)
        for t in range(s):  # the positions' diagonal, one spatial axis at a time
            k = np.moveaxis(np.diagonal(k, axis1=1 + t, axis2=1 + s), -1, 1 + t)
        return k

    def run(self, layers, hp) -> Kernels:
        for layer in layers:
            if isinstance(layer, str):  # flatten, layer_norm, global_avg_pool
                kind, params = layer, {}
            elif "repeat" in layer:
                kind, params = "repeat", layer
            else:
                ((kind, params),) = layer.items()
            getattr(self, "_" + kind)(_values(params, hp) or {}, hp)
        return self

    # ---- layers
    def _dense(self, p, hp):
        w, b = p.get("w_std", 1.0), p.get("b_std", 0.0)
        new = w * w * self.nngp + (b or 0.0) ** 2
        if self.parameterization == "standard":
            self.ntk = self.fan_in * self.nngp + w * w * self.ntk + (0.0 if b is None else 1.0)
        else:
            self.ntk = new + w * w * self.ntk
        self.nngp = new
        self.fan_in = p.get("width")

    def _activation(self, p, hp):
        duals = _activation(p, hp)
        d = self.diagonal()
        n, s = d.shape[0], self.spatial
        q11 = d.reshape((n, 1, *d.shape[1:], *([1] * s)))
        q22 = d.reshape((1, n, *([1] * s), *d.shape[1:]))
        q11, q22 = np.broadcast_to(q11, self.nngp.shape), np.broadcast_to(q22, self.nngp.shape)
        value, derivative = duals(q11, self.nngp, q22)
        self.ntk = derivative * self.ntk
        self.nngp = value

    def _repeat(self, p, hp):
        for _ in range(int(p["repeat"])):
            self.run(p["layers"], hp)

    def _residual(self, p, hp):
        scale = p.get("scale", 1.0)
        skip_nngp, skip_ntk = self.nngp, self.ntk
        self.run(p["layers"], hp)
        self.nngp = skip_nngp + scale * scale * self.nngp
        self.ntk = skip_ntk + scale * scale * self.ntk

    def _branches(self, p, hp):
        """Independent paths from one input: sum adds the kernels, concat averages them weighted by each path's
        channels (the next fan-in is their total), prod multiplies the NNGPs (NTK by the product rule)."""
        start = (self.nngp, self.ntk, self.fan_in, self.spatial)
        outs = []
        for path in p["paths"]:
            self.nngp, self.ntk, self.fan_in, self.spatial = start
            self.run(path, hp)
            outs.append((self.nngp, self.ntk, self.fan_in))
        if p["merge"] == "sum":
            self.nngp, self.ntk = sum(o[0] for o in outs), sum(o[1] for o in outs)
            self.fan_in = next((o[2] for o in outs if o[2] is not None), None)
        elif p["merge"] == "concat":
            channels = [o[2] for o in outs]
            total = sum(channels)
            self.nngp = sum(c * o[0] for c, o in zip(channels, outs)) / total
            self.ntk = sum(c * o[1] for c, o in zip(channels, outs)) / total
            self.fan_in = total
        else:
            assert p["merge"] == "prod"
            nngp, ntk = np.ones_like(outs[0][0]), np.zeros_like(outs[0][1])
            for i, (q, t, _) in enumerate(outs):
                others = np.ones_like(q)
                for j, other in enumerate(outs):
                    if j != i:
                        others = others * other[0]
                nngp, ntk = nngp * q, ntk + t * others
            self.nngp, self.ntk = nngp, ntk
            self.fan_in = next((o[2] for o in outs if o[2] is not None), None)

    def _attention(self, p, hp):
        """Global self-attention with 1/n logit scaling (Hron et al. 2020): each input attends with the fixed
        weights A_x = mech(w_q w_k Sigma(x, x; p, p')) (softmax over p'); Sigma' = (w_v w_o)^2 A_x Sigma A_x'^T
        + b^2, Theta' = (w_v w_o)^2 A_x (Theta + 2 Sigma) A_x'^T + b^2 (value and output weights)."""
        assert p.get("linear_scaling", True), "the reference has the 1/n scaling only"
        n, s = self.nngp.shape[0], self.spatial
        pixels = int(np.prod(self.nngp.shape[2 : 2 + s]))
        shape = self.nngp.shape
        sigma = self.nngp.reshape(n, n, pixels, pixels)
        theta = self.ntk.reshape(n, n, pixels, pixels)
        logits = p.get("w_query_std", 1.0) * p.get("w_key_std", 1.0) * sigma[np.arange(n), np.arange(n)]
        mechanism = p.get("mechanism", "softmax")
        if mechanism == "softmax":
            weights = np.exp(logits - logits.max(-1, keepdims=True))
            weights /= weights.sum(-1, keepdims=True)
        else:
            weights = {"identity": logits, "relu": np.maximum(logits, 0.0), "abs": np.abs(logits)}[mechanism]
        scale = (p.get("w_value_std", 1.0) * p.get("w_out_std", 1.0)) ** 2
        bias = 0.0 if p.get("b_std") is None else p["b_std"] ** 2
        mix = lambda k: np.einsum("apq,abqr,bsr->abps", weights, k, weights)  # noqa: E731
        new = scale * mix(sigma) + bias
        self.ntk = (scale * mix(theta + 2 * sigma) + bias).reshape(shape)
        self.nngp = new.reshape(shape)
        self.fan_in = p.get("channels", self.fan_in)

    def _layer_norm(self, p, hp):
        d = self.diagonal()
        n, s = d.shape[0], self.spatial
        norm = np.sqrt(d.reshape((n, 1, *d.shape[1:], *([1] * s))) * d.reshape((1, n, *([1] * s), *d.shape[1:])))
        self.nngp, self.ntk = self.nngp / norm, self.ntk / norm

    def _conv(self, p, hp):
        w, b = p.get("w_std", 1.0), p.get("b_std", 0.0)
        filt = p["filter"]
        strides = p.get("stride", [1] * len(filt))
        if isinstance(strides, int):
            strides = [strides] * len(filt)
        padding = p.get("padding", "SAME")
        assert self.parameterization == "ntk"
        self.nngp = w * w * self._window(self.nngp, filt, strides, padding) + (b or 0.0) ** 2
        self.ntk = self.nngp + w * w * self._window(self.ntk, filt, strides, padding)
        self.fan_in = p.get("channels")

    def _conv_transpose(self, p, hp):
        """lax.conv_transpose as index maps: tap d sends input pixel i to output s i + low - d of the dilated,
        padded input (CIRCULAR: the VALID output folded onto its n s period); the kernel sums T_d K T_d^T."""
        w, b = p.get("w_std", 1.0), p.get("b_std", 0.0)
        filt = p["filter"]
        strides = p.get("stride", [1] * len(filt))
        padding = p.get("padding", "SAME")
        assert self.parameterization == "ntk"

        def transposed(k):
            for axis in range(self.spatial):
                n, f, s = k.shape[2 + axis], filt[axis], strides[axis]
                low = (f - 1 if s > f - 1 else -(-(f + s - 2) // 2)) if padding == "SAME" else f - 1
                size = n * s if padding == "SAME" else n * s + max(f - s, 0)
                period, shift = n * s, max(f - s, 0) // 2
                out_size = period if padding == "CIRCULAR" else size
                total = 0.0
                for d in range(f):
                    taps = np.zeros((out_size, n))
                    for i in range(n):
                        o = s * i + low - d
                        if 0 <= o < size:
                            taps[(o - shift) % period if padding == "CIRCULAR" else o, i] = 1.0
                    moved = np.moveaxis(np.tensordot(taps, k, axes=(1, 2 + axis)), 0, 2 + axis)
                    c = 2 + self.spatial + axis
                    total = total + np.moveaxis(np.tensordot(taps, moved, axes=(1, c)), 0, c)
                k = total / f
            return k

        self.nngp = w * w * transposed(self.nngp) + (b or 0.0) ** 2
        self.ntk = self.nngp + w * w * transposed(self.ntk)
        self.fan_in = p.get("channels")

    def _avg_pool(self, p, hp):
        window = p["window"]
        strides = p.get("stride") or window  # SPEC_FORMAT: the stride defaults to the window
        if len(strides) == 1 and len(window) == 2:
            strides = strides * 2
        padding = p.get("padding", "VALID")
        self.nngp = self._window(self.nngp, window, strides, padding, pool=True)
        self.ntk = self._window(self.ntk, window, strides, padding, pool=True)

    def _window(self, k, filt, strides, padding, pool=False):
        """Over each window of positions, one spatial axis at a time: a convolution's independent weights keep
        only pairs at the same offset, (1 / |filter|) sum_d k(a, b, i s + d, j s + d); pooling averages every
        pair of offsets, (1 / |window|^2) sum_d sum_e k(a, b, i s + d, j s + e). Zero padding adds zeros."""
        s = self.spatial
        for axis in range(s):
            n, a, c = k.shape[2 + axis], 2 + axis, 2 + s + axis
            size, low = _pads(n, filt[axis], strides[axis], padding)
            offsets = []
            for d in range(filt[axis]):
                index = np.arange(size) * strides[axis] + d - low
                if padding == "CIRCULAR":
                    offsets.append((index % n, np.ones(size, bool)))
                else:
                    offsets.append((np.clip(index, 0, n - 1), (index >= 0) & (index < n)))
            pairs = [(d, e) for d in offsets for e in offsets] if pool else [(d, d) for d in offsets]
            out = 0.0
            for (i1, v1), (i2, v2) in pairs:
                term = np.take(np.take(k, i1, axis=a), i2, axis=c)
                mask = v1.reshape([-1 if i == a else 1 for i in range(k.ndim)]) & v2.reshape(
                    [-1 if i == c else 1 for i in range(k.ndim)])
                out = out + np.where(mask, term, 0.0)
            k = out / len(pairs)
        return k

    def _global_avg_pool(self, p, hp):
        axes = tuple(range(2, 2 + 2 * self.spatial))
        self.nngp, self.ntk = self.nngp.mean(axes), self.ntk.mean(axes)
        self.spatial = 0

    def _flatten(self, p, hp):
        s = self.spatial
        for _ in range(s):  # keep only the same-position entries, then average over positions
            self.nngp = np.moveaxis(np.diagonal(self.nngp, axis1=2, axis2=2 + self.spatial), -1, 2)
            self.ntk = np.moveaxis(np.diagonal(self.ntk, axis1=2, axis2=2 + self.spatial), -1, 2)
            self.nngp, self.ntk = self.nngp.mean(2), self.ntk.mean(2)
            self.spatial -= 1


def _values(params, hp):
    """Hyperparameter names replaced by their values, recursively (expressions are left as text)."""
    if isinstance(params, str):
        return hp.get(params, params)
    if isinstance(params, dict):
        return {k: (v if k == "expr" else _values(v, hp)) for k, v in params.items()}
    if isinstance(params, list):
        return [_values(v, hp) for v in params]
    return params


def kernels(doc: dict | str, x1: np.ndarray, x2: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(nngp, ntk) of a spec (YAML text or its parsed dict) between x1 and x2 (x1 itself when None)."""
    if isinstance(doc, str):
        doc = yaml.safe_load(doc)
    x = np.asarray(x1) if x2 is None else np.concatenate([x1, x2])
    state = Kernels(x, doc.get("parameterization", "ntk")).run(doc["layers"], doc.get("hyperparameters") or {})
    n1 = len(x1)
    assert state.spatial == 0, "end the layers with global_avg_pool or flatten"
    if x2 is None:
        return state.nngp, state.ntk
    return state.nngp[:n1, n1:], state.ntk[:n1, n1:]
