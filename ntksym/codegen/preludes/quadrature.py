# Variance-fitted Gaussian quadrature for activations without a closed-form dual (copied verbatim
# into each generated module that needs it). Method and measured errors: docs/quadrature.md.
#
# E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]) is computed as E_u[f(u) H(u)] with the
# conditional expectation H(u) = E[g(v) | u], v | u ~ N(m, s^2), m = (q12/q11) u,
# s^2 = q22 - q12^2/q11 (Tong 1990, "The Multivariate Normal Distribution", thm 3.3.4); at
# |rho| = 1, s = 0 and H(u) = g(m) exactly. Both levels are 1-D integrals against a standard normal
# weight over [-L, L], split where the activation's argument is 0: the kinks of elu/selu, and the
# complex poles of tanh, sigmoid, softplus and silu, which all lie on the imaginary axis, sit there.
# Each half is integrated with composite Gauss-Legendre panels, graded geometrically towards the
# split point on [0, 3] (the hp-quadrature of a near-singularity; Schwab 1998, "p- and hp-Finite
# Element Methods", sec. 4.5) and uniform beyond, where only the normal weight varies. The grading
# scale delta is the distance of the nearest singularity in standard units, about 1/sqrt(variance),
# so the rule follows the variance: the node count is static, the nodes move.
import jax.numpy as jnp
import numpy as np
from jax import lax

_QUAD_HALF_WIDTH = 9.0  # [-L, L] in standard units: the normal tail beyond 9 is 2e-19
_QUAD_GRADED_END = 3.0  # the graded panels cover [0, 3] on each side of the split, in standard units
_QUAD_MIN_DELTA = 1e-6  # narrower smoothed kinks of H count as sharp: error O(width^2) = 1e-12
_QUAD_MAX_ELEMENTS = 2**22  # above this many integrand values, the outer nodes are looped over


def _quad_make_rule(graded_panels, graded_order, linear_panels, linear_order):
    """Reference nodes in (0, 1) and weights of the graded and the uniform panels (numpy constants)."""

    def panels(count, order):
        x, w = np.polynomial.legendre.leggauss(order)
        start = np.arange(count)[:, None]
        return ((start + (x + 1) / 2) / count).ravel(), np.tile(w / 2, count) / count

    return panels(graded_panels, graded_order) + panels(linear_panels, linear_order)


# Outer rule (split at 0): 120 nodes per half line (8 graded panels: delta can be 1e-6).
# The inner rule's split -m/s can lie anywhere in [-L, L], leaving up to 15 standard units of
# normal weight to the uniform panels: 3 of them.
_QUAD_OUTER = _quad_make_rule(8, 12, 2, 12)
_QUAD_INNER = _quad_make_rule(5, 12, 3, 12)


def _graded_half(length, delta, rule):
    """Offsets t > 0 and weights of a rule for features at t = 0 on the scale delta, for [0, length].

    On [0, 3]: t = delta * expm1(y), y uniform in [0, log1p(3 / delta)] (geometric grading towards
    0); on [3, max(length, 3)] t is uniform. The graded part ignores `length`: beyond L the normal
    weight is below 1e-17, and offsets that do not depend on the split can be shared by all splits.
    A trailing node axis is added.
    """
    graded_x, graded_w, linear_x, linear_w = (jnp.asarray(r, length.dtype) for r in rule)
    delta = delta[..., None]
    top = jnp.log1p(_QUAD_GRADED_END / delta)
    grow = jnp.exp(top * graded_x)
    far = jnp.maximum(length[..., None] - _QUAD_GRADED_END, 0)
    graded = (delta * (grow - 1), delta * top * grow * graded_w)
    uniform = (_QUAD_GRADED_END + far * linear_x, far * linear_w)
    return graded, uniform


def _split_normal_rule(split, delta, rule):
    """Nodes z and weights for E[F(z)], z ~ N(0, 1), split at `split` (clipped to [-L, L]).

    The weights include the normal density and are normalised to sum to 1, so constants are exact.
    """
    half = jnp.asarray(_QUAD_HALF_WIDTH, split.dtype)
    split = jnp.clip(split, -half, half)
    (t, w), (left_t, left_w) = _graded_half(split + half, delta, rule)
    _, (right_t, right_w) = _graded_half(half - split, delta, rule)
    offset = jnp.concatenate([-t, t, -left_t, right_t], axis=-1)
    z = split[..., None] + offset
    w = jnp.concatenate([w, w, left_w, right_w], axis=-1) * jnp.exp(-z * z / 2)
    return z, w / jnp.sum(w, axis=-1, keepdims=True)


def _quad_delta(scale):
    """Grading scale in standard units for an activation argument of standard deviation `scale`:
    the activations' singularities are O(1) away from 0 in their own units (tanh: i pi/2)."""
    return 1 / jnp.maximum(scale, 1)


def _expect_same(f, g, q, rule=_QUAD_OUTER):
    """E[f(u) g(u)] for u ~ N(0, q), elementwise over the array q."""
    return _expect_sames(((f, g),), q, rule)[0]


def _expect_sames(pairs, q, rule=_QUAD_OUTER):
    """E[f(u) g(u)] for each (f, g) of `pairs`, u ~ N(0, q): one rule for all (a layer's NNGP and NTK)."""
    q = jnp.maximum(jnp.asarray(q), 0)
    sd = jnp.sqrt(q)
    z, w = _split_normal_rule(jnp.zeros_like(q), _quad_delta(sd), rule)
    u = sd[..., None] * z
    return tuple(jnp.sum(w * f(u) * g(u), axis=-1) for f, g in pairs)


def _conditional_means(gs, m, s, rule):
    """E[g(m + s w)], w ~ N(0, 1), for each g of `gs` and arrays m and s >= 0 of one shape; split where
    m + s w = 0."""
    tiny = jnp.finfo(s.dtype).tiny
    w, weight = _split_normal_rule(-m / jnp.maximum(s, tiny), _quad_delta(s), rule)
    v = m[..., None] + s[..., None] * w
    return [jnp.sum(weight * g(v), axis=-1) for g in gs]


def _expect_pair_quadrature(f, g, q11, q12, q22, rules=(_QUAD_OUTER, _QUAD_INNER)):
    """E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]), elementwise over the broadcast q's, by
    the 2-D rule: the fallback of the Mehler series `_expect_pair` (preludes/mehler.py)."""
    return _expect_pairs_quadrature(((f, g),), q11, q12, q22, rules)[0]


def _expect_pairs_quadrature(pairs, q11, q12, q22, rules=(_QUAD_OUTER, _QUAD_INNER)):
    """`_expect_pair_quadrature` of each (f, g) of `pairs`, the nodes of both levels shared by all pairs."""
    q11, q12, q22 = jnp.broadcast_arrays(jnp.asarray(q11), jnp.asarray(q12), jnp.asarray(q22))
    tiny = jnp.finfo(q11.dtype).tiny
    q11, q22 = jnp.maximum(q11, 0), jnp.maximum(q22, 0)
    bound = jnp.sqrt(q11 * q22)
    q12 = jnp.clip(q12, -bound, bound)  # rounding can push |rho| past 1
    sd1 = jnp.sqrt(q11)
    beta = q12 / jnp.maximum(q11, tiny)  # E[v | u] = beta u
    s = jnp.sqrt(jnp.maximum(q22 - beta * q12, 0))  # sd of v | u; 0 at rho = +-1
    # f(u) has its features near u = 0; so has H(u): it tends to g(beta u) as s -> 0, and a kink or
    # jump of g at 0 is smoothed over s / |beta| in u, i.e. width = s sd1 / |q12| in standard units
    scale = jnp.maximum(sd1, jnp.abs(q12) / jnp.maximum(sd1, tiny))
    width = s * sd1 / jnp.maximum(jnp.abs(q12), tiny)
    delta = jnp.where(width >= _QUAD_MIN_DELTA, jnp.minimum(_quad_delta(scale), width), _quad_delta(scale))
    z, w = _split_normal_rule(jnp.zeros_like(q11), delta, rules[0])
    u = sd1[..., None] * z
    count = z.shape[-1]

    def outer(u_k, w_k):  # a slice of the outer nodes: arrays (..., k); one sum per pair
        hs = _conditional_means([g for _, g in pairs], beta[..., None] * u_k,
                                jnp.broadcast_to(s[..., None], u_k.shape), rules[1])
        return jnp.stack([jnp.sum(w_k * f(u_k) * h, axis=-1) for (f, _), h in zip(pairs, hs)])

    inner_count = 2 * sum(len(r) for r in rules[1][::2]) * len(pairs)
    if q11.size * count * inner_count <= _QUAD_MAX_ELEMENTS:
        return tuple(outer(u, w))
    # many pairs: loop over chunks of outer nodes, so memory stays at about _QUAD_MAX_ELEMENTS values
    most = max(1, _QUAD_MAX_ELEMENTS // (q11.size * inner_count))
    chunk = next(c for c in range(most, 0, -1) if count % c == 0)

    def step(total, uw):
        return total + outer(*uw), None

    u_c, w_c = (jnp.moveaxis(a.reshape(a.shape[:-1] + (count // chunk, chunk)), -2, 0) for a in (u, w))
    total, _ = lax.scan(step, jnp.zeros((len(pairs),) + q11.shape, q11.dtype), (u_c, w_c))
    return tuple(total)
