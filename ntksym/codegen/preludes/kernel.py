from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

# Helpers shared by every generated kernel module (copied verbatim into each one, so the module
# needs nothing but jax and numpy). State (`_State`): q11, t11 of shape (n1,), q22, t22 of shape (n2,),
# t12 and gap = g12 of shape (n1, n2), q12 None, fan_in a scalar.
#
# g12 is the correlation gap sqrt(q11 q22) - q12 >= 0, carried instead of q12 because deep networks drive
# the correlation towards 1: once 1 - rho is below machine epsilon, q12 no longer holds it, but g12
# (a small number with its own exponent) does. q12 = sqrt(q11 q22) - g12, sqrt(det) =
# sqrt(g12 (2 sqrt(q11 q22) - g12)) and the angles are computed from it. Spatial states
# (preludes/spatial.py) carry q12 and no gap (None); their layers pass g12 = None, and the gap is
# recomputed from q12 where a formula needs it (`_gap_of`).


class _State(NamedTuple):
    """The kernels of a batch pair after a layer: q = NNGP, t = NTK; 11 = x1 with itself, 22 = x2 with
    itself, 12 = x1 with x2; fan_in the next layer's; gap the correlation gap (carried instead of q12)."""

    q11: jax.Array
    t11: jax.Array
    q22: jax.Array
    t22: jax.Array
    q12: jax.Array | None
    t12: jax.Array
    fan_in: jax.Array
    gap: jax.Array | None = None



def _clamped_sqrt(a):
    """sqrt(max(a, 0)) whose gradient at a <= 0 is 0 rather than infinite (NaN-free jax.grad)."""
    positive = a > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, a, 1)), 0)


def _root_product(q11, q22):
    """sqrt(q11 q22) for every pair, from one square root per input (q11 of shape (n1, 1), q22 of (1, n2))."""
    return _clamped_sqrt(q11) * _clamped_sqrt(q22)


def _gap_of(q11, q12, q22):
    """sqrt(q11 q22) - q12 from the covariances themselves, and exactly 0 within rounding (8 eps relative).

    The fallback where no gap is carried. For (nearly) identical inputs the difference is rounding noise
    of size eps sqrt(q11 q22), whose square root, sqrt(eps), would enter every angle-based kernel; the same
    inputs must give the same value as the exact diagonal formulas, so a Gram matrix of repeated inputs
    stays PSD to rounding."""
    scale = _root_product(q11, q22)
    gap = scale - q12
    return jnp.where(gap > 8 * jnp.finfo(gap.dtype).eps * scale, gap, 0)


def _sqrt_det_from_gap(q11, q22, g12):
    """sqrt(q11 q22 - q12^2) = sqrt(g12) sqrt(2 sqrt(q11 q22) - g12): no cancellation, however small g12 is,
    and no overflow: their product would be of the order of q11 q22 (in float32 inf from q ~ 1e19 on)."""
    return _clamped_sqrt(g12) * _clamped_sqrt(2 * _root_product(q11, q22) - g12)


def _affine_gap(q11, q22, g12, a, c):
    """The gap after q -> a q + c (a dense layer), without cancellation:
    sqrt((a q11 + c)(a q22 + c)) - (a sqrt(q11 q22) + c) = a c (sqrt q11 - sqrt q22)^2 / D with
    D = sqrt((a q11 + c)(a q22 + c)) + a sqrt(q11 q22) + c, so the new gap is that plus a g12.
    sqrt q11 - sqrt q22 is taken as (q11 - q22) / (sqrt q11 + sqrt q22): exact subtraction of nearby
    variances. Square roots are taken per input, not per pair. No product of two variances is formed: in
    float32 one overflows from q ~ 1e19 on, which a deep network with large inputs reaches."""
    root11, root22 = _clamped_sqrt(q11), _clamped_sqrt(q22)
    outer = _clamped_sqrt(a * q11 + c) * _clamped_sqrt(a * q22 + c) + a * root11 * root22 + c
    if isinstance(c, float) and c > 0:  # a bias given as a number: outer >= c > 0, and the root sum is
        # below the smallest normal number only where q11 - q22 is 0 too (a max is cheaper than a where)
        difference = (q11 - q22) / jnp.maximum(root11 + root22, jnp.finfo(outer.dtype).tiny)
        return a * g12 + a * c * difference * (difference / outer)
    difference = _safe_div(q11 - q22, root11 + root22)
    return a * g12 + a * c * difference * _safe_div(difference, outer)


def _scaled_sin_minus_theta_cos(theta, sqrt_det, q12, q11, q22):
    """sqrt(q11 q22) (sin(theta) - theta cos(theta)) = sqrt(det) - theta q12, accurate to rounding also for
    small theta, where it is ~ theta^3 / 3 and that difference cancels. Below theta = 1/4 the Taylor series
    sum_k (-1)^(k+1) 2k theta^(2k+1) / (2k+1)!, 3 terms in float32 and 6 in float64 (first omitted term:
    2e-8 and 2e-18 relative); above it the direct form (relative error <= 48 eps). Elementwise arithmetic
    only: no sin or cos, which XLA:CPU does not vectorise as well."""
    tt = theta * theta  # theta is in [0, pi]: the series is finite, if unused, above 1/4
    series = 0.0
    for k in range(3 if theta.dtype == jnp.float32 else 6, 0, -1):
        series = series * tt + (-1) ** (k + 1) * 2 * k / _factorial(2 * k + 1)
    scale = _root_product(q11, q22)
    return jnp.where(theta < 0.25, scale * series * tt * theta, sqrt_det - theta * q12)


def _factorial(n):
    return 1 if n < 2 else n * _factorial(n - 1)


def _safe_div(a, b):
    """a / b, and 0 where b == 0 (layer norm of a zero input); gradients stay finite there too."""
    nonzero = b != 0
    return jnp.where(nonzero, a / jnp.where(nonzero, b, 1), 0)


def _inputs(x1, x2):
    """Sigma^0 = <x, x'> / d, Theta^0 = 0; fan_in = d; the gap of Sigma^0."""
    x1 = x1.reshape(x1.shape[0], -1)
    x2 = x2.reshape(x2.shape[0], -1)
    d = x1.shape[-1]
    q11 = jnp.sum(x1 * x1, axis=-1) / d
    q22 = jnp.sum(x2 * x2, axis=-1) / d
    q12 = jnp.matmul(x1, x2.T, precision=lax.Precision.HIGHEST) / d
    return _State(q11, jnp.zeros_like(q11), q22, jnp.zeros_like(q22), None, jnp.zeros_like(q12),
                  jnp.asarray(d, x1.dtype), _gap_of(q11[:, None], q12, q22[None, :]))


def _covariances(state):
    """(q11, t11, q22, t22, q12, t12) of a state, q12 recovered from the gap where one is carried."""
    if state.gap is None:
        return state[:6]
    q12 = _root_product(state.q11[:, None], state.q22[None, :]) - state.gap
    return state.q11, state.t11, state.q22, state.t22, q12, state.t12


def _entrywise(state, cross, diag, hp, width=None):
    """Apply one layer: `cross` maps each pair's entries, `diag` each input's own variance.

    `cross` returns the new gap too where its layer has a formula for it without cancellation, else None;
    the gap is then recomputed from the new covariances. (Where q12' is not needed, XLA drops it.)"""
    q11, t11, q22, t22, q12, t12 = _covariances(state)
    fan_in, gap = state.fan_in, state.gap
    new_q12, new_t12, new_gap = cross(q11[:, None], q12, q22[None, :], t12, fan_in, gap, hp)
    new_q11, new_t11 = diag(q11, t11, fan_in, hp)
    new_q22, new_t22 = diag(q22, t22, fan_in, hp)
    if width is not None:
        fan_in = jnp.asarray(width, fan_in.dtype)
    like = (q11, t11, q22, t22, q12, t12)
    new = (new_q11, new_t11, new_q22, new_t22, new_q12, new_t12)
    # constants (e.g. a zero NTK factor) come back as scalars: give them the state's shape and dtype
    new_q11, new_t11, new_q22, new_t22, new_q12, new_t12 = (
        jnp.broadcast_to(n, o.shape).astype(o.dtype) for n, o in zip(new, like))
    if gap is None:
        return _State(new_q11, new_t11, new_q22, new_t22, new_q12, new_t12, fan_in)
    if new_gap is None:
        new_gap = _gap_of(new_q11[:, None], new_q12, new_q22[None, :])
    new_gap = jnp.broadcast_to(jnp.maximum(new_gap, 0), gap.shape).astype(gap.dtype)
    return _State(new_q11, new_t11, new_q22, new_t22, None, new_t12, fan_in, new_gap)


def _residual_sum(skip, block, scale):
    """y = x + scale * block(x), branches independent: kernels add, the block's scaled by scale^2.

    The gap of the sum, without cancellation (Cauchy-Schwarz, a = skip, b = block, c = scale^2):
    g = g_a + c g_b + c (q11a q22b - q11b q22a)^2 / ((sqrt(q11a q22b) + sqrt(q11b q22a))^2 D),
    D = sqrt(q11 q22) + sqrt(q11a q22a) + c sqrt(q11b q22b) for the summed q11, q22."""
    c = scale**2
    if skip.gap is None:
        return _State(*(a + c * b for a, b in zip(skip[:6], block[:6])), block.fan_in)
    q11, t11, q22, t22 = (a + c * b for a, b in zip(skip[:4], block[:4]))
    t12 = skip.t12 + c * block.t12
    q11a, q22a = skip.q11[:, None], skip.q22[None, :]
    q11b, q22b = block.q11[:, None], block.q22[None, :]
    cross_ab, cross_ba = q11a * q22b, q11b * q22a
    outer = (_root_product(q11[:, None], q22[None, :]) + _root_product(q11a, q22a)
             + c * _root_product(q11b, q22b))
    spread = _safe_div((cross_ab - cross_ba) ** 2,
                       (_clamped_sqrt(cross_ab) + _clamped_sqrt(cross_ba)) ** 2 * outer)
    return _State(q11, t11, q22, t22, None, t12, block.fan_in, skip.gap + c * block.gap + c * spread)


def _clamp_correlation(q11, q12, q22):
    """q12 limited to [-sqrt(q11 q22), sqrt(q11 q22)]: a valid covariance whatever the rounding (float32).
    The bound from one square root per input: q11 q22 itself overflows float32 from q ~ 1e19 on."""
    bound = _root_product(q11, q22)
    return jnp.clip(q12, -bound, bound)


def _symmetric(matrix, diagonal):
    """K(x1, x1): the upper triangle mirrored (exactly symmetric: a selection, no arithmetic that XLA
    could contract differently on the two sides), with the exact diagonal values."""
    index = jnp.arange(matrix.shape[0])
    matrix = jnp.where(index[:, None] <= index[None, :], matrix, matrix.T)
    return matrix.at[index, index].set(diagonal)


def _atan_unit(r):
    """atan(r) for 0 <= r <= 1 from elementwise arithmetic only, so XLA vectorises it (its own atan2
    calls scalar libm on CPU, about 8x slower). Cephes' atan (float64: rational 4/5 after reduction at
    0.66, error ~1e-16) and atanf (float32: degree-9 odd polynomial after reduction at tan(pi/8))."""
    if r.dtype == jnp.float64:
        big = r > 0.66
        z = jnp.where(big, (r - 1) / (r + 1), r)
        zz = z * z
        p = ((((-8.750608600031904122785e-1 * zz - 1.615753718733365076637e1) * zz
               - 7.500855792314704667340e1) * zz - 1.228866684490136173410e2) * zz
             - 6.485021904942025371773e1)
        q = ((((zz + 2.485846490142306297962e1) * zz + 1.650270098316988542046e2) * zz
              + 4.328810604912902668951e2) * zz + 4.853903996359136964868e2) * zz + 1.945506571482613964425e2
        return jnp.where(big, jnp.pi / 4, 0.0) + z + z * zz * p / q
    big = r > 0.41421356237309503
    z = jnp.where(big, (r - 1) / (r + 1), r)
    zz = z * z
    poly = (((8.05374449538e-2 * zz - 1.38776856032e-1) * zz + 1.99777106478e-1) * zz - 3.33329491539e-1) * zz
    return jnp.where(big, jnp.pi / 4, 0.0).astype(r.dtype) + z + poly * z


def _atan2(y, x):
    """arctan2(y, x) by octant reduction to atan on [0, 1]; _atan2(0, 0) = pi / 2.

    The angle arctan2(sqrt(det), q12) is 0/0 only when an input has variance 0 (a zero input, no bias).
    pi/2 treats that input as uncorrelated with the others (the limit of an infinitesimal independent
    perturbation), which keeps the kernel PSD; 0 would make it perfectly correlated with every input at
    once, which is not a valid kernel for step-like activations."""
    y, x = jnp.broadcast_arrays(y, x)
    ay, ax = jnp.abs(y), jnp.abs(x)
    hi, lo = jnp.maximum(ay, ax), jnp.minimum(ay, ax)
    positive = hi > 0
    angle = _atan_unit(jnp.where(positive, lo / jnp.where(positive, hi, 1), 0))
    angle = jnp.where(ay > ax, jnp.pi / 2 - angle, angle)
    angle = jnp.where(x < 0, jnp.pi - angle, angle)
    angle = jnp.where(positive, angle, jnp.pi / 2)
    return jnp.where(y < 0, -angle, angle)


# XLA's CPU code generation is chosen per kernel: each generated module says which options it wants in
# XLA_OPTIONS (ntksym.codegen.writer.LOOP_EMITTERS; docs/performance.md, "XLA's emitters").
_REFUSED_OPTIONS: set = set()  # option sets this jax or XLA refused, learnt at the first call that used them


def _usable(options):
    """`options` where the default backend is a CPU and this process has not seen them refused, else none.
    Nothing is compiled to find out: the first call that uses them tells (`_refuses`)."""
    if not options or tuple(sorted(options.items())) in _REFUSED_OPTIONS or jax.default_backend() != "cpu":
        return {}
    return dict(options)


def _refuses(error, options):
    """Whether `error` is jax refusing `compiler_options` (older jax) or XLA refusing one of `options` (it names
    the option: "No such compile option: ...")."""
    text = str(error)
    return "compiler_options" in text or any(name in text for name in options)


class _Jitted:
    """jax.jit(fun, **jit_args), compiled with the accepted `xla_options` when called at top level; inside
    another trace (jit, grad, vmap of a caller) the plain jitted function, since jax takes compiler options
    only from the outermost jit. Made at the first call, so that importing a module neither starts a
    backend (jax.distributed.initialize must come first) nor compiles."""

    def __init__(self, fun, xla_options, jit_args):
        self._fun, self._xla_options, self._jit_args = fun, dict(xla_options), jit_args
        self._jitted = self._top = None
        self._options = {}  # those the top-level function is compiled with
        self.__doc__, self.__wrapped__ = fun.__doc__, fun

    def _get(self):
        """The top-level jitted function (with the options); `_jitted` is the plain one."""
        if self._top is None:
            self._jitted = jax.jit(self._fun, **self._jit_args)
            options = self._options = _usable(self._xla_options)
            try:
                self._top = jax.jit(self._fun, compiler_options=options, **self._jit_args) if options else self._jitted
            except TypeError as error:  # a jax without compiler_options
                if not _refuses(error, options):
                    raise
                self._refused()
        return self._top

    def _refused(self):
        """From now on, in this process, the options are not asked for."""
        _REFUSED_OPTIONS.add(tuple(sorted(self._xla_options.items())))
        self._top = self._jitted

    def __call__(self, *args, **kwargs):
        top = self._get()
        plain = self._jitted
        if top is plain or any(isinstance(a, jax.core.Tracer) for a in jax.tree_util.tree_leaves((args, kwargs))):
            return plain(*args, **kwargs)
        try:
            return top(*args, **kwargs)
        except ValueError as error:  # traced by a caller without traced arguments (closed-over inputs)
            if "compiler_options" not in str(error):
                raise
            return plain(*args, **kwargs)
        except Exception as error:  # this XLA does not know an option (or a value of one)
            if not _refuses(error, self._options):
                raise
            self._refused()
            return plain(*args, **kwargs)

    def __getattr__(self, name):  # lower, trace, eval_shape, ... of the jitted function
        if name.startswith("__") or name in ("_fun", "_xla_options", "_options", "_jit_args", "_jitted", "_top"):
            raise AttributeError(name)  # not set yet (e.g. while copying): never recurse into _get
        return getattr(self._get(), name)


def _jit(fun=None, *, xla_options=None, **jit_args):
    """jax.jit, compiled with `xla_options` (a dict of XLA debug options) where they are accepted (`_usable`)."""
    if fun is None:
        return lambda f: _Jitted(f, xla_options or {}, jit_args)
    return _Jitted(fun, xla_options or {}, jit_args)


# -- public names for ntksym's runtime (ntksym/runtime): generated modules carry the code above, not these
jit = _jit
