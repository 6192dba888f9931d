# The finite network of a spec, interpreted from its architecture records (see architecture.py):
# init, apply and the layer-factorised empirical NTK. Copied verbatim into each generated module
# (so it needs nothing but jax and numpy) and imported by ntksym.runtime.network.
# Records: ("dense", w_std, b_std|None, width, is_output), ("act", k), ("layer_norm",),
# ("repeat", count, body), ("residual", scale, body), ("conv", w_std, b_std|None, channels, filter, stride,
# padding), ("avg_pool", window, stride, padding), ("global_avg_pool",), ("flatten",),
# ("branches", merge, paths): every path (a tuple of records) from the same input, merged by sum, concat or prod.
# Repeated blocks get fresh weights per repetition: the first repetition's own, the rest stacked on a
# leading axis and run by lax.scan, so compile time does not grow with depth. Spatial states are
# (n, [height,] width, channels); dense layers, activations and layer_norm act per pixel.
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_NET_SPATIAL_KINDS = ("conv", "avg_pool", "global_avg_pool", "flatten")
# Parameterless kinds defined in their own module (ntksym/layers): kind -> (on_pixels,
# shape_fn(shape, rec), apply_fn(h, rec)). Generated modules fill it from the functions copied in beside this prelude;
# ntksym.runtime.network fills it from the registry.
_NET_LAYERS = {}
# Kinds with weights defined in their own module (attention, conv_transpose, conv_local): kind -> (on_pixels,
# params_fn(shape, rec, width, stack) -> (param tree, shape), apply_fn(p, h, rec, parameterization)); `width`:
# the hidden width given to init (None: the spec's). Their NTK term comes from the Jacobian.
_NET_WEIGHTED = {}


def _net_is_spatial(arch):
    """True when some layer needs the inputs' spatial axes (the network then does not flatten them)."""
    return any(
        rec[0] in _NET_SPATIAL_KINDS or _NET_LAYERS.get(rec[0], (False,))[0]
        or _NET_WEIGHTED.get(rec[0], (False,))[0]
        or (rec[0] in ("repeat", "residual") and _net_is_spatial(rec[2]))
        or (rec[0] == "branches" and any(_net_is_spatial(path) for path in rec[2]))
        for rec in arch
    )


def _net_in_shape(arch, shape):
    """The per-example input shape the network sees: as given when spatial, else flattened to (d,)."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    return shape if _net_is_spatial(arch) else (int(np.prod(shape)),)


def _net_same_pads(n, k, s):
    """(low, high) padding of `lax.padtype_to_pads(..., "SAME")`: ceil(n / s) outputs."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _net_out_dims(dims, window, stride, padding):
    if padding == "VALID":
        return tuple((n - k) // s + 1 for n, k, s in zip(dims, window, stride, strict=True))
    return tuple(-(-n // s) for n, s in zip(dims, stride, strict=True))


def _net_pad(h, window, stride, padding):
    """h (n, spatial..., C) padded for a window: SAME pads zeros, CIRCULAR wraps (with SAME's pad sizes, as
    neural-tangents and preludes/spatial.py do), VALID does not pad; a VALID window then fits."""
    if padding == "VALID":
        return h
    pads = [_net_same_pads(n, k, s) for n, k, s in zip(h.shape[1:-1], window, stride, strict=True)]
    return jnp.pad(h, [(0, 0)] + pads + [(0, 0)], mode="wrap" if padding == "CIRCULAR" else "constant")


def _net_taps(h, window, stride, padding):
    """[(filter offset d, h(s p + d) for every output pixel p)], padded as `_net_pad` pads."""
    m = _net_out_dims(h.shape[1:-1], window, stride, padding)
    h = _net_pad(h, window, stride, padding)
    taps = []
    for d in np.ndindex(*window):
        index = tuple(slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(d, stride, m, strict=True))
        taps.append((d, h[(slice(None),) + index]))
    return taps


def _net_conv(h, w, window, stride, padding):
    """sum_d h(s p + d) W[d] for every output pixel p as one XLA convolution (fewer operations to compile
    than a product per filter tap), padded as `_net_pad` pads: h (n, spatial..., C_in), w (window..., C_in,
    C_out)."""
    h = _net_pad(h, window, stride, padding)
    spatial = tuple(range(1, h.ndim - 1))
    numbers = lax.ConvDimensionNumbers(
        (0, h.ndim - 1) + spatial, (h.ndim - 1, h.ndim - 2) + tuple(range(len(spatial))), (0, h.ndim - 1) + spatial
    )
    return lax.conv_general_dilated(h, w, tuple(stride), "VALID", dimension_numbers=numbers,
                                    precision=lax.Precision.HIGHEST)


def _net_check_rank(shape, window, what):
    if len(shape) - 1 != len(window):
        raise ValueError(
            f"{what} with a {len(window)}-D window needs inputs (n, {len(window)} spatial axes, channels), "
            f"got per-example shape {tuple(shape)}: fix input_shape or the window"
        )


def _net_shapes(arch, shape, width=None, stack=()):
    """(tree of ("param", shape, scale) leaves, per-example output shape). Hidden dense layers and convs
    get `width` when given, the output layer its own; repeats are (first repetition, the rest stacked)."""
    tree = []
    for rec in arch:
        kind = rec[0]
        if kind in ("dense", "conv"):
            own, fan_in = rec[3], shape[-1]
            out = own if (width is None or (kind == "dense" and rec[4])) else int(width)
            if kind == "conv":
                _net_check_rank(shape, rec[4], "conv")
                size = int(np.prod(rec[4]))
                layer = {"w": ("param", stack + tuple(rec[4]) + (fan_in, out), rec[1] / (fan_in * size) ** 0.5)}
                shape = _net_out_dims(shape[:-1], rec[4], rec[5], rec[6]) + (out,)
            else:
                layer = {"w": ("param", stack + (fan_in, out), rec[1] / fan_in**0.5)}
                shape = shape[:-1] + (out,)
            if rec[2] is not None:
                layer["b"] = ("param", stack + (out,), rec[2])
            tree.append(layer)
        elif kind == "repeat" and rec[1] > 0:
            first, out = _net_shapes(rec[2], shape, width, stack)
            rest, again = _net_shapes(rec[2], out, width, stack + (rec[1] - 1,))
            if again != out and rec[1] > 1:
                raise ValueError(
                    f"a repeated block maps shape {out} to {again}; it must keep the shape "
                    "to be repeated: give its last dense layer (or conv) the width (channels) of its input"
                )
            tree.append((first, rest))
            shape = out
        elif kind == "residual":
            block, out = _net_shapes(rec[2], shape, width, stack)
            if out != shape:
                raise ValueError(
                    f"a residual block maps shape {shape} to {out}; x + block(x) needs equal widths (shapes): "
                    "make the input width equal to the block's dense widths (conv channels)"
                )
            tree.append(block)
        elif kind == "branches":
            parts = [_net_shapes(path, shape, width, stack) for path in rec[2]]
            tree.append([part[0] for part in parts])
            shape = _net_merged_shape(rec[1], [part[1] for part in parts])
        elif kind in ("act", "layer_norm", "repeat"):
            tree.append(None)
        elif kind == "avg_pool":
            _net_check_rank(shape, rec[1], "avg_pool")
            shape = _net_out_dims(shape[:-1], rec[1], rec[2], rec[3]) + shape[-1:]
            tree.append(None)
        elif kind == "global_avg_pool":
            shape = shape[-1:]
            tree.append(None)
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
            tree.append(None)
        elif kind in _NET_LAYERS:
            shape = _NET_LAYERS[kind][1](shape, rec)
            tree.append(None)
        elif kind in _NET_WEIGHTED:
            layer, shape = _NET_WEIGHTED[kind][1](shape, rec, width, stack)
            tree.append(layer)
        else:
            raise ValueError(f"no finite network for the layer kind {kind!r} yet")
    return tree, shape


def _net_merged_shape(merge, shapes):
    """The per-example shape after a branches merge: concat adds up the channels, sum and prod keep the shape."""
    if merge == "concat" and len({shape[:-1] for shape in shapes}) == 1:
        return shapes[0][:-1] + (sum(shape[-1] for shape in shapes),)
    if merge != "concat" and len(set(shapes)) == 1:
        return shapes[0]
    raise ValueError(
        f"the paths of a branches layer (merge {merge}) end on the shapes {list(shapes)}; "
        + ("concat needs equal spatial shapes" if merge == "concat" else f"{merge} needs equal shapes: give the "
           "paths' last dense layers (convs) the same width (channels), the input's for a path without weights")
    )


def _net_merge(merge, outs):
    if merge == "concat":
        return jnp.concatenate(outs, axis=-1)
    out = outs[0]
    for other in outs[1:]:
        out = out + other if merge == "sum" else out * other
    return out


def _is_shape(node):
    return isinstance(node, tuple) and len(node) == 3 and node[0] == "param"


def _net_init(key, arch, in_shape, parameterization, width=None):
    """(params, output width). ntk: W, b standard normal; standard: W ~ N(0, w^2/fan_in), b ~ N(0, b^2),
    fan_in = C_in * filter size for a conv. `in_shape`: the per-example input shape (or its size).
    All weights come from one normal draw (one random-number kernel to compile, whatever the depth)."""
    tree, out = _net_shapes(arch, _net_in_shape(arch, in_shape), width)
    out = out[-1]
    leaves, treedef = jax.tree_util.tree_flatten(tree, is_leaf=_is_shape)
    sizes = [int(np.prod(leaf[1])) for leaf in leaves]
    draw = jax.random.normal(key, (sum(sizes),))
    params, start = [], 0
    for (_, shape, scale), size in zip(leaves, sizes, strict=True):
        value = draw[start : start + size].reshape(shape)
        params.append(value if parameterization == "ntk" else value * scale)
        start += size
    return jax.tree_util.tree_unflatten(treedef, params), out


def _net_dense(p, h, rec, parameterization):
    """z = w_std/sqrt(fan_in) h W + b_std b (ntk) or h W + b (standard)."""
    if parameterization == "ntk":
        z = (rec[1] / h.shape[-1] ** 0.5) * jnp.matmul(h, p["w"], precision=lax.Precision.HIGHEST)
        return z + rec[2] * p["b"] if "b" in p else z
    z = jnp.matmul(h, p["w"], precision=lax.Precision.HIGHEST)
    return z + p["b"] if "b" in p else z


def _net_layers(params, h, arch, phis, parameterization, probes=None):
    """(output, records): records holds each dense and conv layer's input; `probes` are added to their
    outputs (pre-activations z), so that d output / d probe = df/dz."""
    records = []
    for i, rec in enumerate(arch):
        p, probe = params[i], None if probes is None else probes[i]
        kind = rec[0]
        if kind == "dense":
            records.append(h)
            h = _net_dense(p, h, rec, parameterization)
            h = h if probe is None else h + probe
        elif kind == "act":
            records.append(())
            h = phis[rec[1]](h)
        elif kind == "layer_norm":
            # mean of squares, not variance: the kernel rule divides by sqrt(q11 q22) (second moments)
            records.append(())
            h = h / jnp.sqrt(jnp.mean(h * h, axis=-1, keepdims=True))
        elif kind == "repeat":
            if rec[1] == 0:
                records.append(())
                continue

            def step(carry, xs, body=rec[2]):
                return _net_layers(xs[0], carry, body, phis, parameterization, xs[1])

            h, first = _net_layers(
                p[0], h, rec[2], phis, parameterization, None if probe is None else probe[0]
            )
            h, rest = lax.scan(step, h, (p[1], None if probe is None else probe[1]), length=rec[1] - 1)
            records.append((first, rest))
        elif kind == "residual":
            out, inner = _net_layers(p, h, rec[2], phis, parameterization, probe)
            h = h + rec[1] * out
            records.append(inner)
        elif kind == "branches":
            parts = [_net_layers(p[j], h, path, phis, parameterization, None if probe is None else probe[j])
                     for j, path in enumerate(rec[2])]
            h = _net_merge(rec[1], [part[0] for part in parts])
            records.append([part[1] for part in parts])
        elif kind == "conv":
            records.append(h)
            h = _net_spatial_layer(p, h, rec, parameterization)
            h = h if probe is None else h + probe
        elif kind in _NET_WEIGHTED:
            records.append(())
            h = _NET_WEIGHTED[kind][2](p, h, rec, parameterization)
        else:
            records.append(())
            h = _net_spatial_layer(p, h, rec, parameterization)
    return h, records


def _net_spatial_layer(p, h, rec, parameterization):
    """conv: z(p) = w_std/sqrt(C k) sum_d h(s p + d) W[d] + b_std b (ntk; standard: W, b pre-scaled),
    Novak et al. 2019 eq. 2; avg_pool: the window mean (SAME divides by the full window, like
    neural-tangents' AvgPool); global_avg_pool: the mean over pixels; flatten: (n, P * C)."""
    kind = rec[0]
    if kind == "conv":
        z = _net_conv(h, p["w"], rec[4], rec[5], rec[6])
        if parameterization == "ntk":
            z = rec[1] / (h.shape[-1] * int(np.prod(rec[4]))) ** 0.5 * z
            return z + rec[2] * p["b"] if "b" in p else z
        return z + p["b"] if "b" in p else z
    if kind == "avg_pool":
        taps = _net_taps(h, rec[1], rec[2], rec[3])
        return sum(a for _, a in taps) / len(taps)
    if kind == "global_avg_pool":
        return jnp.mean(h, axis=tuple(range(1, h.ndim - 1)))
    if kind == "flatten":
        return h.reshape(h.shape[0], -1)
    if kind in _NET_LAYERS:
        return _NET_LAYERS[kind][2](h, rec)
    raise ValueError(f"no finite network for the layer kind {kind!r} yet")


def _net_input(x, arch):
    """Inputs as the first layer sees them: (n, d) flattened for dense stacks, as given when spatial."""
    return x if _net_is_spatial(arch) else x.reshape(x.shape[0], -1)


def _net_apply(params, x, arch, phis, parameterization):
    """The network's outputs, shape (n, k), for inputs of shape (n, ...)."""
    return _net_layers(params, _net_input(x, arch), arch, phis, parameterization)[0]


def _net_probes(params, arch, n, shape):
    """(zeros shaped like every dense and conv layer's output (n, [pixels,] channels), with the params'
    leading repeat axes; the per-example output shape). `shape`: the per-example input shape."""
    probes = []
    for p, rec in zip(params, arch, strict=True):
        kind = rec[0]
        if kind in ("dense", "conv"):
            w = p["w"]
            stack = w.shape[: w.ndim - 2 - (len(rec[4]) if kind == "conv" else 0)]
            pixels = shape[:-1] if kind == "dense" else _net_out_dims(shape[:-1], rec[4], rec[5], rec[6])
            shape = pixels + w.shape[-1:]
            probes.append(jnp.zeros(stack + (n,) + shape, w.dtype))
        elif kind == "repeat" and rec[1] > 0:
            first, shape = _net_probes(p[0], rec[2], n, shape)
            probes.append((first, _net_probes(p[1], rec[2], n, shape)[0]))
        elif kind == "residual":
            probes.append(_net_probes(p, rec[2], n, shape)[0])
        elif kind == "branches":
            parts = [_net_probes(p[j], path, n, shape) for j, path in enumerate(rec[2])]
            probes.append([part[0] for part in parts])
            shape = _net_merged_shape(rec[1], [part[1] for part in parts])
        else:
            probes.append(())
            shape = _net_shapes((rec,), shape)[1]
    return probes, shape


def _net_ntk_factors(params, x, arch, phis, parameterization):
    """Each dense and conv layer's inputs a(x) and backpropagated gradients g_o(x) = df_o/dz, one vjp per
    output unit: g has shape (k, [repeats,] n, [pixels,] channels)."""
    x = _net_input(x, arch)
    probes = _net_probes(params, arch, x.shape[0], x.shape[1:])[0]
    out, pullback, records = jax.vjp(
        lambda pr: _net_layers(params, x, arch, phis, parameterization, pr), probes, has_aux=True
    )
    # examples are independent, so d(sum_i f_o(x_i))/d probe[i] = df_o(x_i)/dz(x_i)
    eye = jnp.eye(out.shape[-1], dtype=out.dtype)
    grads = jax.vmap(lambda e: pullback(jnp.broadcast_to(e, out.shape))[0])(eye)
    return records, grads


def _net_ntk_sum(arch, a1, g1, a2, g2, parameterization, depth=0):
    """The sum over dense and conv layers of their NTK terms (`_net_layer_ntk`), averaged over outputs.
    `depth` counts the leading repeat axes of the records (one per enclosing stacked repeat)."""
    total = 0.0
    for i, rec in enumerate(arch):
        if rec[0] in ("dense", "conv"):
            total = total + _net_layer_ntk(rec, a1[i], g1[i], a2[i], g2[i], parameterization, depth)
        elif rec[0] == "repeat" and rec[1] > 0:
            for part in (0, 1):  # the first repetition, then the stacked rest
                total = total + _net_ntk_sum(
                    rec[2], a1[i][part], g1[i][part], a2[i][part], g2[i][part], parameterization, depth + part
                )
        elif rec[0] == "residual":
            total = total + _net_ntk_sum(rec[2], a1[i], g1[i], a2[i], g2[i], parameterization, depth)
        elif rec[0] == "branches":
            for j, path in enumerate(rec[2]):
                total = total + _net_ntk_sum(path, a1[i][j], g1[i][j], a2[i][j], g2[i][j], parameterization, depth)
    return total


def _net_layer_ntk(rec, a1, g1, a2, g2, parameterization, depth):
    """One dense or conv layer's term summed over its `depth` leading repeat axes (vmapped over them)."""

    def merged(a, lead):  # the repeat axes, starting at `lead`, merged into one (of size 1 when none)
        return a.reshape(a.shape[:lead] + (-1,) + a.shape[lead + depth :])

    def one(a1, g1, a2, g2):
        return _net_patch_ntk(
            _net_patches(a1, rec), _net_flat_pixels(g1), _net_patches(a2, rec), _net_flat_pixels(g2),
            *_net_ntk_scales(rec, parameterization, a1),
        )

    terms = jax.vmap(one, in_axes=(0, 1, 0, 1))(merged(a1, 0), merged(g1, 1), merged(a2, 0), merged(g2, 1))
    return terms.sum(0)


def _net_ntk_scales(rec, parameterization, a):
    """(c_w, c_b): ntk w_std^2 / fan_in and b_std^2 (0 without a bias); standard 1 and 1 (or 0)."""
    if parameterization != "ntk":
        return 1.0, 0.0 if rec[2] is None else 1.0
    fan_in = a.shape[-1] * (int(np.prod(rec[4])) if rec[0] == "conv" else 1)
    return rec[1] ** 2 / fan_in, 0.0 if rec[2] is None else rec[2] ** 2


def _net_flat_pixels(g):
    """(k, n, [pixels,] channels) -> (k, n, P, channels), P = 1 for a state without pixels."""
    return g.reshape(g.shape[:2] + (-1, g.shape[-1]))


def _net_patches(a, rec):
    """(n, P, F): the inputs each output pixel p of the layer sees, patch(p) (a conv: the k filter taps'
    C_in values, F = k C_in; a dense layer: the pixel's own features, P = 1 without pixels)."""
    if rec[0] == "conv":
        a = jnp.stack([tap for _, tap in _net_taps(a, rec[4], rec[5], rec[6])], axis=-2)
        a = a.reshape(a.shape[:-2] + (-1,))
    return a.reshape(a.shape[0], -1, a.shape[-1])


def _net_patch_ntk(p1, g1, p2, g2, c_w, c_b):
    """(1/k) sum_o sum_{p,q} <g_o(p), g'_o(q)> (c_w <patch(p), patch'(q)> + c_b) for one layer z(p) =
    W^T patch(p) + b: its weight and bias Jacobians are sum_p patch(p) g(p)^T and sum_p g(p) (the
    structured derivatives of Novak et al. 2022, "Fast finite width neural tangent kernel"). Contracted
    in whichever order costs fewer multiplies (k output units here): by pixel pairs, n n' P^2 (k C + F),
    or through the per-example weight gradients A = sum_p patch(p) g(p)^T (F x C), (n + n') k P F C +
    n n' k F C."""
    k, n1, pixels, c = g1.shape
    n2, f = g2.shape[1], p1.shape[-1]
    by_pairs = n1 * n2 * pixels * pixels * (k * c + f)
    by_gradients = (n1 + n2) * k * pixels * f * c + n1 * n2 * k * f * c
    if by_pairs <= by_gradients:
        return _net_ntk_by_pixel_pairs(p1, g1, p2, g2, c_w, c_b)
    return _net_ntk_by_weight_gradients(p1, g1, p2, g2, c_w, c_b)


def _net_ntk_by_pixel_pairs(p1, g1, p2, g2, c_w, c_b):
    """sum_{p,q} (c_w <patch(p), patch'(q)> + c_b) (1/k) sum_o <g_o(p), g'_o(q)>: for dense layers
    (P = 1) this is c_w <a, a'> <g, g'> + c_b <g, g'>."""
    hi = lax.Precision.HIGHEST
    gg = jnp.einsum("knpc,kmqc->nmpq", g1, g2, precision=hi) / g1.shape[0]
    pp = jnp.einsum("npf,mqf->nmpq", p1, p2, precision=hi)
    return ((c_w * pp + c_b) * gg).sum((2, 3))


def _net_ntk_by_weight_gradients(p1, g1, p2, g2, c_w, c_b):
    """c_w <A_o(x), A_o(x')> + c_b <sum_p g_o(p), sum_p g'_o(p)>, averaged over outputs o, with
    A_o(x) = sum_p patch(p) g_o(p)^T the per-example weight gradient: the Gram of (flattened) weight
    gradients, computed layer by layer instead of from the whole Jacobian."""
    hi = lax.Precision.HIGHEST
    # one (n, k C F) matrix per side, so that the Gram is a single matrix product
    w1 = jnp.einsum("npf,knpc->nkcf", p1, g1, precision=hi).reshape(p1.shape[0], -1)
    w2 = jnp.einsum("npf,knpc->nkcf", p2, g2, precision=hi).reshape(p2.shape[0], -1)
    weights = jnp.matmul(w1, w2.T, precision=hi)
    biases = jnp.einsum("knc,kmc->nm", g1.sum(2), g2.sum(2), precision=hi)
    return (c_w * weights + c_b * biases) / g1.shape[0]


def _net_empirical_ntk(params, x1, x2, arch, phis, parameterization):
    """(1/k) sum_o J_o(x1) J_o(x2)^T without materialising the Jacobian; x2=None means x1."""
    if _net_has_weighted(arch):  # their weights have no layer-factorised term: the Jacobian
        return _net_jacobian_ntk(params, x1, x2, arch, phis, parameterization)
    a1, g1 = _net_ntk_factors(params, x1, arch, phis, parameterization)
    if x2 is None:
        ntk = _net_ntk_sum(arch, a1, g1, a1, g1, parameterization)
        return (ntk + ntk.T) / 2
    a2, g2 = _net_ntk_factors(params, x2, arch, phis, parameterization)
    return _net_ntk_sum(arch, a1, g1, a2, g2, parameterization)


def _net_has_weighted(arch):
    return any(rec[0] in _NET_WEIGHTED or (rec[0] in ("repeat", "residual") and _net_has_weighted(rec[2]))
               for rec in arch)


def _net_readout_nngp(params, x1, x2, arch, phis, parameterization):
    """E[f(x1) f(x2)^T | hidden weights] = w^2 <a, a'>/fan_in + b^2 for a final dense layer, per unit."""
    rec = arch[-1]
    if rec[0] != "dense":
        raise ValueError("the readout NNGP needs a network that ends with a dense layer")
    a1 = _net_layers(params, _net_input(x1, arch), arch, phis, parameterization)[1][-1]
    a2 = a1 if x2 is None else _net_layers(params, _net_input(x2, arch), arch, phis, parameterization)[1][-1]
    bias = 0.0 if rec[2] is None else rec[2] ** 2
    return rec[1] ** 2 * jnp.matmul(a1, a2.T, precision=lax.Precision.HIGHEST) / a1.shape[-1] + bias


def _net_jacobian_ntk(params, x1, x2, arch, phis, parameterization):
    """(1/k) sum_o J_o(x1) J_o(x2)^T by contracting jax.jacrev(apply) leaf by leaf (any architecture)."""

    def flat(x):
        jac = jax.jacrev(lambda p: _net_apply(p, x, arch, phis, parameterization))(params)
        return [leaf.reshape(leaf.shape[0], leaf.shape[1], -1) for leaf in jax.tree_util.tree_leaves(jac)]

    j1 = flat(x1)
    return _contract_jacobians(j1, j1 if x2 is None else flat(x2))


def _contract_jacobians(j1, j2):
    """(1/k) sum_o sum_p J1[i, o, p] J2[j, o, p] over per-leaf Jacobians of shape (inputs, outputs, params)."""
    total = sum(
        jnp.einsum("iop,jop->ij", a, b, precision=lax.Precision.HIGHEST) for a, b in zip(j1, j2, strict=True)
    )
    return total / j1[0].shape[1]


_net_apply_jit = jax.jit(_net_apply, static_argnums=(2, 3, 4))
_net_empirical_ntk_jit = jax.jit(_net_empirical_ntk, static_argnums=(3, 4, 5))
_net_readout_nngp_jit = jax.jit(_net_readout_nngp, static_argnums=(3, 4, 5))
_net_jacobian_ntk_jit = jax.jit(_net_jacobian_ntk, static_argnums=(3, 4, 5))


# -- public names for ntksym's runtime (ntksym/runtime): generated modules carry the code above, not these
LAYERS = _NET_LAYERS
WEIGHTED = _NET_WEIGHTED
init = _net_init
apply_jit = _net_apply_jit
apply = _net_apply
is_spatial = _net_is_spatial
readout_nngp = _net_readout_nngp
empirical_ntk_jit = _net_empirical_ntk_jit
empirical_ntk = _net_empirical_ntk
contract_jacobians = _contract_jacobians
