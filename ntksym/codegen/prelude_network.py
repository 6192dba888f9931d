# The finite network of a spec, interpreted from its architecture records (see architecture.py):
# init, apply and the layer-factorised empirical NTK. Copied verbatim into each generated module
# (so it needs nothing but jax and numpy) and imported by ntksym.runtime.network.
# Records: ("dense", w_std, b_std|None, width, is_output), ("act", k), ("layer_norm",),
# ("repeat", count, body), ("residual", scale, body). Repeated blocks get fresh weights per repetition:
# the first repetition's own, the rest stacked on a leading axis and run by lax.scan, so compile time
# does not grow with depth.
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _net_shapes(arch, fan_in, width=None, stack=()):
    """(tree of ("param", shape, scale) leaves, output width). Hidden dense layers get `width` when given,
    the output layer its own; repeats are (first repetition, the rest stacked on a leading axis)."""
    tree = []
    for rec in arch:
        kind = rec[0]
        if kind == "dense":
            _, w_std, b_std, own, is_output = rec
            out = own if (width is None or is_output) else int(width)
            layer = {"w": ("param", stack + (fan_in, out), w_std / fan_in**0.5)}
            if b_std is not None:
                layer["b"] = ("param", stack + (out,), b_std)
            tree.append(layer)
            fan_in = out
        elif kind == "repeat" and rec[1] > 0:
            first, out = _net_shapes(rec[2], fan_in, width, stack)
            rest, again = _net_shapes(rec[2], out, width, stack + (rec[1] - 1,))
            if again != out and rec[1] > 1:
                raise ValueError(
                    f"a repeated block maps width {out} to {again}; it must keep the width "
                    "to be repeated: give its last dense layer the width of its input"
                )
            tree.append((first, rest))
            fan_in = out
        elif kind == "residual":
            block, out = _net_shapes(rec[2], fan_in, width, stack)
            if out != fan_in:
                raise ValueError(
                    f"a residual block maps width {fan_in} to {out}; x + block(x) needs equal widths: "
                    "make the input width equal to the block's dense widths"
                )
            tree.append(block)
        elif kind in ("act", "layer_norm", "repeat"):
            tree.append(None)
        else:
            raise ValueError(f"no finite network for the layer kind {kind!r} yet")
    return tree, fan_in


def _is_shape(node):
    return isinstance(node, tuple) and len(node) == 3 and node[0] == "param"


def _net_init(key, arch, fan_in, parameterization, width=None):
    """(params, output width). ntk: W, b standard normal; standard: W ~ N(0, w^2/fan_in), b ~ N(0, b^2).
    All weights come from one normal draw (one random-number kernel to compile, whatever the depth)."""
    tree, out = _net_shapes(arch, fan_in, width)
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
    """(output, records): records holds each dense layer's input; `probes` are added to dense outputs."""
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
    return h, records


def _net_apply(params, x, arch, phis, parameterization):
    """The network's outputs, shape (n, k), for inputs of shape (n, ...)."""
    return _net_layers(params, x.reshape(x.shape[0], -1), arch, phis, parameterization)[0]


def _net_probes(params, arch, n):
    """Zeros shaped like every dense layer's output (n, width), with the params' leading repeat axes."""
    probes = []
    for p, rec in zip(params, arch, strict=True):
        if rec[0] == "dense":
            probes.append(jnp.zeros(p["w"].shape[:-2] + (n, p["w"].shape[-1]), p["w"].dtype))
        elif rec[0] == "repeat" and rec[1] > 0:
            probes.append((_net_probes(p[0], rec[2], n), _net_probes(p[1], rec[2], n)))
        elif rec[0] == "residual":
            probes.append(_net_probes(p, rec[2], n))
        else:
            probes.append(())
    return probes


def _net_ntk_factors(params, x, arch, phis, parameterization):
    """Each dense layer's inputs a(x) and backpropagated gradients g_o(x) = df_o/dz, one vjp per output."""
    x = x.reshape(x.shape[0], -1)
    probes = _net_probes(params, arch, x.shape[0])
    out, pullback, records = jax.vjp(
        lambda pr: _net_layers(params, x, arch, phis, parameterization, pr), probes, has_aux=True
    )
    # examples are independent, so d(sum_i f_o(x_i))/d probe[i] = df_o(x_i)/dz(x_i)
    eye = jnp.eye(out.shape[-1], dtype=out.dtype)
    grads = jax.vmap(lambda e: pullback(jnp.broadcast_to(e, out.shape))[0])(eye)
    return records, grads


def _net_ntk_sum(arch, a1, g1, a2, g2, parameterization):
    """sum over dense layers of c_w <a(x), a(x')> <g(x), g(x')> + c_b <g(x), g(x')>, averaged over outputs."""
    total = 0.0
    for i, rec in enumerate(arch):
        if rec[0] == "dense":
            gg = (
                jnp.einsum("k...iw,k...jw->...ij", g1[i], g2[i], precision=lax.Precision.HIGHEST)
                / g1[i].shape[0]
            )
            aa = jnp.einsum("...id,...jd->...ij", a1[i], a2[i], precision=lax.Precision.HIGHEST)
            bias = 0.0 if rec[2] is None else (rec[2] ** 2 if parameterization == "ntk" else 1.0)
            weight = rec[1] ** 2 / a1[i].shape[-1] if parameterization == "ntk" else 1.0
            term = (weight * aa + bias) * gg
            total = total + term.reshape((-1,) + term.shape[-2:]).sum(0)
        elif rec[0] == "repeat" and rec[1] > 0:
            for part in (0, 1):  # the first repetition, then the stacked rest
                total = total + _net_ntk_sum(
                    rec[2], a1[i][part], g1[i][part], a2[i][part], g2[i][part], parameterization
                )
        elif rec[0] == "residual":
            total = total + _net_ntk_sum(rec[2], a1[i], g1[i], a2[i], g2[i], parameterization)
    return total


def _net_empirical_ntk(params, x1, x2, arch, phis, parameterization):
    """(1/k) sum_o J_o(x1) J_o(x2)^T without materialising the Jacobian; x2=None means x1."""
    a1, g1 = _net_ntk_factors(params, x1, arch, phis, parameterization)
    if x2 is None:
        ntk = _net_ntk_sum(arch, a1, g1, a1, g1, parameterization)
        return (ntk + ntk.T) / 2
    a2, g2 = _net_ntk_factors(params, x2, arch, phis, parameterization)
    return _net_ntk_sum(arch, a1, g1, a2, g2, parameterization)


def _net_readout_nngp(params, x1, x2, arch, phis, parameterization):
    """E[f(x1) f(x2)^T | hidden weights] = w^2 <a, a'>/fan_in + b^2 for a final dense layer, per unit."""
    rec = arch[-1]
    if rec[0] != "dense":
        raise ValueError("the readout NNGP needs a network that ends with a dense layer")
    a1 = _net_layers(params, x1.reshape(x1.shape[0], -1), arch, phis, parameterization)[1][-1]
    a2 = (
        a1
        if x2 is None
        else _net_layers(params, x2.reshape(x2.shape[0], -1), arch, phis, parameterization)[1][-1]
    )
    bias = 0.0 if rec[2] is None else rec[2] ** 2
    return rec[1] ** 2 * jnp.matmul(a1, a2.T, precision=lax.Precision.HIGHEST) / a1.shape[-1] + bias


_net_apply_jit = jax.jit(_net_apply, static_argnums=(2, 3, 4))
_net_empirical_ntk_jit = jax.jit(_net_empirical_ntk, static_argnums=(3, 4, 5))
_net_readout_nngp_jit = jax.jit(_net_readout_nngp, static_argnums=(3, 4, 5))
