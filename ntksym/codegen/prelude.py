import jax.numpy as jnp
from jax import lax

# Helpers shared by every generated kernel module (copied verbatim into each one, so the module
# needs nothing but jax and numpy). State: (q11, t11, q22, t22, q12, t12, fan_in) with q11, t11 of
# shape (n1,), q22, t22 of shape (n2,), q12, t12 of shape (n1, n2).


def _clamped_sqrt(a):
    """sqrt(max(a, 0)) whose gradient at a <= 0 is 0 rather than infinite (NaN-free jax.grad)."""
    positive = a > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, a, 1)), 0)


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


def _symmetric(matrix, diagonal):
    """K(x1, x1): symmetric by construction, with the exact diagonal values."""
    matrix = (matrix + matrix.T) / 2
    index = jnp.arange(matrix.shape[0])
    return matrix.at[index, index].set(diagonal)
