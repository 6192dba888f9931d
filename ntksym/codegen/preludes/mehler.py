# Hermite (Mehler) series for the Gaussian expectations of activations without a closed-form dual, with
# the 2-D quadrature of preludes/quadrature.py as the fallback (copied verbatim into each generated
# module that needs it, after preludes/quadrature.py). Method, bound and measurements: docs/quadrature.md.
#
# With u = sqrt(q11) x, v = sqrt(q22) y, (x, y) standard normal with correlation rho = q12/sqrt(q11 q22),
# and the normalised Hermite coefficients a_n(q) = E[f(sqrt(q) z) h_n(z)], h_n = He_n / sqrt(n!),
# Mehler's formula (Mehler 1866; O'Donnell 2014, "Analysis of Boolean Functions", ch. 11; Daniely et al.
# 2016, "Toward deeper understanding of neural networks", sec. 5, for its use as the dual activation) is
#     E[f(u) g(v)] = sum_n a_n(q11) b_n(q22) rho^n.
# The coefficients are per input (O(n) work), the sum per pair. Truncated after N terms, the error is at
# most |rho|^N sqrt(T_f(N) T_g(N)) (Cauchy-Schwarz), T(N) = E[f(sqrt(q) z)^2] - sum_{n<N} a_n^2 the
# Parseval tail, E[f^2] from the same accurate 1-D rule as the coefficients. Each call picks the smallest term
# count in _MEHLER_TERMS whose bound meets _MEHLER_TOLERANCE over all its pairs, else the quadrature.
import jax.numpy as jnp
import numpy as np
from jax import lax

from ntksym.codegen.preludes.quadrature import _expect_pairs_quadrature, _expect_sames

_MEHLER_TERMS = (16, 32, 64, 128, 256)  # static term counts, one lax.switch branch each
_MEHLER_TOLERANCE = {"float64": 1e-11, "float32": 1e-6}  # truncation bound relative to sqrt(E f^2 E g^2)
_MEHLER_ROUNDING = 8  # the computed tail T(N) is trusted to this many eps times E[f^2]
_MEHLER_MAX_VARIANCE = 1000.0  # the coefficient rule resolves features down to 0.02 standard units


def _hermite_rule(terms, delta=0.02, graded=10, graded_order=16, length=12.0, uniform=12, uniform_order=12):
    """Nodes z_k, weights w_k (normal density included) and the table w_k h_n(z_k) (n < terms) of a 1-D
    rule for E[F(z)] and a_n = E[F(z) h_n(z)], z ~ N(0, 1) (numpy constants).

    Split at 0, where the activations' kinks and (on the imaginary axis) complex poles lie: panels graded
    geometrically from `delta` to 3 standard units (delta = 0.02 resolves tanh(sqrt(q) z) up to q ~ 6000; above
    _MEHLER_MAX_VARIANCE the quadrature is used),
    uniform ones from 3 to `length`, fine enough for h_n up to n = 256 (frequency sqrt(n) near 0).
    h_n sqrt(weight) are the Hermite functions, computed by the stable three-term recurrence
    psi_{n+1} = (z psi_n - sqrt(n) psi_{n-1}) / sqrt(n + 1), which never overflows; the normal weight
    beyond 12 (at most e^-36 against them) is dropped. Weights are normalised: a_0 of a constant is exact.
    """
    x, w = np.polynomial.legendre.leggauss(graded_order)
    top = np.log1p(3.0 / delta)
    y = ((np.arange(graded)[:, None] + (x + 1) / 2) / graded).ravel() * top
    graded_t, graded_w = delta * np.expm1(y), delta * np.exp(y) * np.tile(w / 2, graded) / graded * top
    x, w = np.polynomial.legendre.leggauss(uniform_order)
    far_t = 3 + (length - 3) * ((np.arange(uniform)[:, None] + (x + 1) / 2) / uniform).ravel()
    far_w = np.tile(w / 2, uniform) / uniform * (length - 3)
    t, w = np.concatenate([graded_t, far_t]), np.concatenate([graded_w, far_w])
    z, w = np.concatenate([-t[::-1], t]), np.concatenate([w[::-1], w])
    root = np.exp(-z * z / 4)  # the square root of the (unnormalised) normal density
    psi = np.empty((z.size, terms))
    psi[:, 0], psi[:, 1] = root, z * root
    for n in range(1, terms - 1):
        psi[:, n + 1] = (z * psi[:, n] - np.sqrt(n) * psi[:, n - 1]) / np.sqrt(n + 1)
    weight = w * root / np.sum(w * root * root)
    return z, weight * root, psi * weight[:, None]


_HERMITE_RULE = _hermite_rule(max(_MEHLER_TERMS))


def _hermite_coefficients(fs, q):
    """a_n(q) = E[f(sqrt(q) z) h_n(z)] for each f of `fs` and n < max(_MEHLER_TERMS), shape
    (len(fs),) + q.shape + (terms,), and E[f(sqrt(q) z)^2], shape (len(fs),) + q.shape, from the same nodes."""
    z, weight, table = (jnp.asarray(r, q.dtype) for r in _HERMITE_RULE)
    x = jnp.sqrt(q)[..., None] * z
    values = jnp.stack([f(x) for f in fs])
    return jnp.matmul(values, table, precision=lax.Precision.HIGHEST), jnp.sum(weight * values * values, -1)


def _relative_tails(coefficients, second_moment):
    """T(N) / E[f^2] for N in _MEHLER_TERMS, shape second_moment.shape + (len(_MEHLER_TERMS),), rounding
    included."""
    eps = jnp.finfo(coefficients.dtype).eps
    squares, partial, start = coefficients * coefficients, [], 0
    for n in _MEHLER_TERMS:  # sums over the segments between term counts (a cumsum compiles slowly)
        segment = jnp.sum(squares[..., start:n], axis=-1)
        partial.append(segment if not partial else partial[-1] + segment)
        start = n
    partial = jnp.stack(partial, axis=-1)
    moment = second_moment[..., None]
    tail = jnp.maximum(moment - partial, 0) + _MEHLER_ROUNDING * eps * moment
    return tail / jnp.maximum(moment, jnp.finfo(moment.dtype).tiny)


def _mehler_sum(a, b, rho, terms):
    """sum_{n < terms} a_n b_n rho^n by Horner's rule (highest term first), looping over n with
    accumulators of the shape of a[..., 0] only (a leading axis of pairs, then the pairs of inputs):
    no (pairs x terms) array is formed."""
    a, b = (jnp.moveaxis(c[..., :terms], -1, 0)[::-1] for c in (a, b))

    def step(total, ab):
        return total * rho + ab[0] * ab[1], None

    shape = jnp.broadcast_shapes(a.shape[1:], b.shape[1:], rho.shape)
    total, _ = lax.scan(step, jnp.zeros(shape, rho.dtype), (a, b), unroll=8)
    return total


def _mehler_choice(tails_f, tails_g, rho, exact):
    """Index into _MEHLER_TERMS of the smallest term count whose bound max|rho|^N sqrt(T_f T_g) / scale
    meets the tolerance for every pair not `exact` and every (f, g) (the leading axis of the tails; maxima
    taken per input and over |rho| separately: an upper bound of the per-pair one), or len(_MEHLER_TERMS)
    for the quadrature."""
    tolerance = _MEHLER_TOLERANCE[jnp.dtype(rho.dtype).name]
    worst_f, worst_g = (jnp.max(t, axis=tuple(range(1, t.ndim - 1))) for t in (tails_f, tails_g))
    worst_rho = jnp.max(jnp.where(exact, 0, jnp.abs(rho)))
    terms = jnp.asarray(_MEHLER_TERMS, rho.dtype)
    bound = worst_rho**terms * jnp.sqrt(worst_f * worst_g)
    ok = jnp.all(bound <= tolerance, axis=0)  # false for NaN: the quadrature then decides
    return jnp.where(jnp.any(ok), jnp.argmax(ok), len(_MEHLER_TERMS))


def _mehler_parts(pairs, q11, q12, q22):
    """Coefficients of the f's and g's of `pairs` (leading axis: the pair), correlation, which pairs of
    inputs are identical (q11 = q22 and rho = 1 within 4 eps: their value is `_expect_same`'s, exact to
    rounding there) and the branch index of a call, one for all of `pairs`."""
    q11, q22 = jnp.maximum(jnp.asarray(q11), 0), jnp.maximum(jnp.asarray(q22), 0)
    q12 = jnp.asarray(q12)
    scale = jnp.sqrt(q11) * jnp.sqrt(q22)
    rho = jnp.clip(q12 / jnp.maximum(scale, jnp.finfo(scale.dtype).tiny), -1, 1)
    rho = jnp.broadcast_to(rho, jnp.broadcast_shapes(q11.shape, q12.shape, q22.shape))
    a, moment_f = _hermite_coefficients([f for f, _ in pairs], q11)
    b, moment_g = _hermite_coefficients([g for _, g in pairs], q22)

    def aligned(c):  # the pair axis first, then axes as rho's (q11 or q22 may have fewer, a scalar none)
        return c.reshape(c.shape[:1] + (1,) * (rho.ndim + 2 - c.ndim) + c.shape[1:])

    close = 4 * jnp.finfo(rho.dtype).eps  # XLA may round the two sides' variances differently
    identical = (rho >= 1 - close) & (jnp.abs(q11 - q22) <= close * jnp.maximum(q11, q22))
    index = _mehler_choice(_relative_tails(a, moment_f), _relative_tails(b, moment_g), rho, identical)
    a, b = aligned(a), aligned(b)
    wide = jnp.maximum(jnp.max(q11), jnp.max(q22)) > _MEHLER_MAX_VARIANCE
    index = jnp.where(wide, len(_MEHLER_TERMS), index)
    return a, b, rho, identical, index


def _mehler_branch(f, g, q11, q12, q22):
    """The branch index _expect_pair takes (len(_MEHLER_TERMS): quadrature); for tests and reports."""
    return _mehler_parts(((f, g),), q11, q12, q22)[4]


def _expect_pair(f, g, q11, q12, q22):
    """E[f(u) g(v)] for (u, v) ~ N(0, [[q11, q12], [q12, q22]]), elementwise over the broadcast q's:
    the Mehler series where its certified bound allows, else the 2-D quadrature. Identical inputs
    (rho = 1, q11 = q22, to rounding) give exactly `_expect_same(f, g, q11)`, the value of the diagonal path."""
    return _expect_pairs(((f, g),), q11, q12, q22)[0]


def _expect_pairs(pairs, q11, q12, q22):
    """`_expect_pair` of each (f, g) of `pairs` at the same covariances (a layer's NNGP and NTK factor): one
    choice of series or quadrature, one set of nodes, one program branch for all, each pair's value within
    its own bound."""
    q11, q12, q22 = jnp.asarray(q11), jnp.asarray(q12), jnp.asarray(q22)
    a, b, rho, identical, index = _mehler_parts(pairs, q11, q12, q22)
    branches = [lambda n=n: _mehler_sum(a, b, rho, n) for n in _MEHLER_TERMS]
    branches.append(lambda: jnp.stack(_expect_pairs_quadrature(pairs, q11, q12, q22)))
    values = lax.switch(index, branches)
    same = _expect_sames(pairs, jnp.maximum(q11, 0))
    return tuple(jnp.where(identical, diagonal, value) for diagonal, value in zip(same, values))
