import jax.numpy as jnp
from jax import lax

# Helpers shared by every generated kernel module (copied verbatim into each one, so the module
# needs nothing but jax and numpy). State: (q11, t11, q22, t22, q12, t12, fan_in) with q11, t11 of
# shape (n1,), q22, t22 of shape (n2,), q12, t12 of shape (n1, n2).



def _clamped_sqrt(a):
    """sqrt(max(a, 0)) whose gradient at a <= 0 is 0 rather than infinite (NaN-free jax.grad)."""
    positive = a > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, a, 1)), 0)


def _sqrt_det(q11, q12, q22):
    """sqrt(q11 q22 - q12^2), and exactly 0 when that is within rounding of 0 (relative 16 eps).

    For (nearly) identical inputs the difference is rounding noise of size eps q11 q22, whose square
    root, sqrt(eps), would enter every angle-based kernel; the same inputs must give the same value as
    the exact diagonal formulas, so that a Gram matrix of repeated inputs stays PSD to rounding."""
    det = q11 * q22 - q12**2
    tol = 16 * jnp.finfo(det.dtype).eps * jnp.abs(q11 * q22)
    positive = det > tol
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, det, 1)), 0)


def _safe_div(a, b):
    """a / b, and 0 where b == 0 (layer norm of a zero input); gradients stay finite there too."""
    nonzero = b != 0
    return jnp.where(nonzero, a / jnp.where(nonzero, b, 1), 0)


def _inputs(x1, x2):
    """Sigma^0 = <x, x'> / d, Theta^0 = 0; fan_in = d."""
    x1 = x1.reshape(x1.shape[0], -1)
    x2 = x2.reshape(x2.shape[0], -1)
    d = x1.shape[-1]
    q11 = jnp.sum(x1 * x1, axis=-1) / d
    q22 = jnp.sum(x2 * x2, axis=-1) / d
    q12 = jnp.matmul(x1, x2.T, precision=lax.Precision.HIGHEST) / d
    return (q11, jnp.zeros_like(q11), q22, jnp.zeros_like(q22), q12, jnp.zeros_like(q12),
            jnp.asarray(d, x1.dtype))


def _entrywise(state, cross, diag, hp, width=None):
    """Apply one layer: `cross` maps each pair's entries, `diag` each input's own variance."""
    q11, t11, q22, t22, q12, t12, fan_in = state
    new_q12, new_t12 = cross(q11[:, None], q12, q22[None, :], t12, fan_in, hp)
    new_q11, new_t11 = diag(q11, t11, fan_in, hp)
    new_q22, new_t22 = diag(q22, t22, fan_in, hp)
    if width is not None:
        fan_in = jnp.asarray(width, fan_in.dtype)
    like = (q11, t11, q22, t22, q12, t12)
    new = (new_q11, new_t11, new_q22, new_t22, new_q12, new_t12)
    # constants (e.g. a zero NTK factor) come back as scalars: give them the state's shape and dtype
    return tuple(jnp.broadcast_to(n, o.shape).astype(o.dtype) for n, o in zip(new, like)) + (fan_in,)


def _residual_sum(skip, block, scale):
    """y = x + scale * block(x), branches independent: kernels add, the block's scaled by scale^2."""
    summed = tuple(a + scale**2 * b for a, b in zip(skip[:6], block[:6]))
    return summed + (block[6],)


def _clamp_correlation(q11, q12, q22):
    """q12 limited to [-sqrt(q11 q22), sqrt(q11 q22)]: a valid covariance whatever the rounding (float32)."""
    bound = jnp.sqrt(q11 * q22)
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
