# Training dynamics of the infinite ensemble (Lee et al. 2019, "Wide Neural Networks of Any Depth Evolve as
# Linear Models Under Gradient Descent"; Jacot et al. 2018). Copied verbatim into every generated module,
# after its `kernel` function, so the module needs only jax and numpy; `ntksym.runtime.dynamics` imports the
# same code. Loss sum((f - y)^2) / (2 N), N = y.size = n k; learning rate eta; all formulas in the eigenbasis
# Theta_reg = V diag(lam) V^T of the (regularised) train kernel:
#   gradient flow   E_t(lam) = exp(-eta lam t / N)            (t a continuous time)
#   discrete GD     E_t(lam) = (1 - eta lam / N)^t            (t counts steps)
#   g_t(lam) = (1 - E_t(lam)) / lam, written with expm1 / log1p so that g_t -> eta t / N as lam -> 0.
# Mean on x: Theta(x, X) V g_t V^T Y. Covariance (NTK): K(x,x') + A K A^T - A K(X,x') - K(x,X) A^T with
# A = Theta(x, X) V g_t V^T; readout only (NNGP, Theta = K): K(x,x') - K(x,X) V g_t (1 + E_t) V^T K(X,x').
# Cost: with any finite time, one eigh of Theta_reg serves every time, mean and covariance (t = inf among
# them: its pseudo-inverse). When every time is inf, no eigh: a Cholesky solve of Theta_reg (lambda_max by
# Lanczos, or eigvalsh for discrete GD), and the eigh-based pseudo-inverse only where Theta_reg is
# numerically singular, chosen by `lax.cond` so that it runs only then.
import jax
import jax.numpy as jnp
from jax import lax

_DYN_HI = lax.Precision.HIGHEST


def _dyn_factors(lam, t, rate, discrete):
    """(g_t(lam), E_t(lam)), each (T, n), for clamped eigenvalues lam >= 0, finite t >= 0, rate = eta / N."""
    lam, t = lam[None, :], t[:, None]
    if discrete:
        x = rate * lam  # contraction per step: E = (1 - x)^t
        pos = x > 0
        safe = jnp.where(pos, x, 1.0)
        small = x < 1  # 1 - x > 0: the log1p / expm1 form has no cancellation as x -> 0
        u = t * jnp.log1p(-jnp.where(small, x, 0.0))
        g_small = jnp.where(pos, -jnp.expm1(u) / safe, t)
        magnitude = jnp.abs(1 - x) ** t  # x >= 1: the sign of (1 - x)^t alternates with integer t
        e_large = jnp.where((1 - x < 0) & (jnp.mod(t, 2) == 1), -magnitude, magnitude)
        e = jnp.where(small, jnp.exp(u), e_large)
        return rate * jnp.where(small, g_small, (1 - e_large) / safe), e
    s = rate * t
    z = s * lam
    pos = z > 0
    phi = jnp.where(pos, -jnp.expm1(-z) / jnp.where(pos, z, 1.0), 1.0)  # (1 - e^-z) / z, 1 at z = 0
    return s * phi, jnp.exp(-z)


def _dyn_pinv_factors(lam, lam_max):
    """(g, E), each (1, n), at t = inf: the pseudo-inverse, eigenvalues below n eps lam_max counting as zero.

    Those directions are never learnt (E = 1, g = 0); every other one is learnt fully (E = 0, g = 1 / lam).
    """
    cut = lam.shape[0] * jnp.finfo(lam.dtype).eps * lam_max
    kept = lam > cut
    return jnp.where(kept, 1 / jnp.where(kept, lam, 1.0), 0.0)[None], jnp.where(kept, 0.0, 1.0)[None]


def _dyn_cov_in_eigenbasis(times, m, n):
    """Whether V^T K(X, X) V (two n^3 products, once) is cheaper than A = W V^T (an m n^2 product per time)."""
    return times * m >= 2 * n


def _dyn_ntk_cov(w, v, k_dd, k_td, k_tt):
    """K(x,x') + A K A^T - A K(X,x') - K(x,X) A^T, each (T, m, m), from w = A V (T, m, n) and K the NNGP."""
    times, m, n = w.shape
    if _dyn_cov_in_eigenbasis(times, m, n):
        q_test = jnp.matmul(k_td, v, precision=_DYN_HI)  # K(x, X) V
        kd_eig = jnp.matmul(v.T, jnp.matmul(k_dd, v, precision=_DYN_HI), precision=_DYN_HI)
        cross = jnp.einsum("tmi,li->tml", w, q_test, precision=_DYN_HI)  # A K(X, x')
        quad = jnp.matmul(jnp.matmul(w, kd_eig, precision=_DYN_HI), jnp.swapaxes(w, 1, 2), precision=_DYN_HI)
    else:
        a = jnp.matmul(w, v.T, precision=_DYN_HI)  # A in the original basis, (T, m, n)
        cross = jnp.einsum("tmi,li->tml", a, k_td, precision=_DYN_HI)
        quad = jnp.matmul(jnp.matmul(a, k_dd, precision=_DYN_HI), jnp.swapaxes(a, 1, 2), precision=_DYN_HI)
    return k_tt - cross - jnp.swapaxes(cross, 1, 2) + quad


def _dyn_eigen(lam_dd, v, theta_td, k_dd, k_td, k_tt, y, g, e, nngp, with_cov):
    """Means (T, m, k), (T, n, k) and covariance (T, m, m) from g, E in the eigenbasis V (see the top).

    lam_dd: the eigenvalues of the unregularised train kernel in that basis (Theta(X, X) V = V diag(lam_dd)),
    so the train mean costs no n^3 product.
    """
    vy = jnp.matmul(v.T, y, precision=_DYN_HI)
    p_test = jnp.matmul(theta_td, v, precision=_DYN_HI)  # Theta(x, X) V
    mean = jnp.einsum("mi,ti,ik->tmk", p_test, g, vy, precision=_DYN_HI)
    train = jnp.einsum("ni,ti,ik->tnk", v, lam_dd[None] * g, vy, precision=_DYN_HI)
    if not with_cov:
        return mean, train, None
    if nngp:
        cov = k_tt - jnp.einsum("mi,ti,li->tml", p_test, g * (1 + e), p_test, precision=_DYN_HI)
    else:
        cov = _dyn_ntk_cov(p_test[None] * g[:, None, :], v, k_dd, k_td, k_tt)
    return mean, train, (cov + jnp.swapaxes(cov, 1, 2)) / 2


def _dyn_eigh(theta_reg, scale):
    """(clamped eigenvalues of Theta_reg, eigenvalues of Theta = Theta_reg - scale I, eigenvectors)."""
    lam, v = jnp.linalg.eigh(theta_reg)
    return jnp.maximum(lam, 0.0), lam - scale, v  # the kernel is positive semi-definite: negatives are rounding


def _dyn_pinv_limit(theta_reg, scale, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov):
    """The t = inf limit (m, k), (n, k), (m, m) by the pseudo-inverse: for a numerically singular Theta_reg."""
    lam, lam_dd, v = _dyn_eigh(theta_reg, scale)
    g, e = _dyn_pinv_factors(lam, jnp.max(lam))
    mean, train, cov = _dyn_eigen(lam_dd, v, theta_td, k_dd, k_td, k_tt, y, g, e, nngp, with_cov)
    return mean[0], train[0], None if cov is None else cov[0]


def _dyn_cholesky_limit(chol, theta_dd, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov):
    """The t = inf limit (m, k), (n, k), (m, m) by solves with the Cholesky factor of Theta_reg."""

    def solve(b):
        z = lax.linalg.triangular_solve(chol, b, left_side=True, lower=True)
        return lax.linalg.triangular_solve(chol, z, left_side=True, lower=True, transpose_a=True)

    alpha = solve(y)
    mean = jnp.matmul(theta_td, alpha, precision=_DYN_HI)
    train = jnp.matmul(theta_dd, alpha, precision=_DYN_HI)
    if not with_cov:
        return mean, train, None
    b = solve(theta_td.T)  # Theta_reg^-1 Theta(X, x), (n, m)
    if nngp:
        cov = k_tt - jnp.matmul(theta_td, b, precision=_DYN_HI)
    else:
        cross = jnp.matmul(b.T, k_td.T, precision=_DYN_HI)
        quad = jnp.matmul(b.T, jnp.matmul(k_dd, b, precision=_DYN_HI), precision=_DYN_HI)
        cov = k_tt - cross - cross.T + quad
    return mean, train, (cov + cov.T) / 2


def _dyn_lanczos_max(a, steps=32):
    """lambda_max of a symmetric positive semi-definite `a` by Lanczos with full reorthogonalisation.

    A Ritz value: never above lambda_max; `steps` products with `a` (no n^3 work). Kernel matrices have a
    well separated top eigenvalue, and 32 steps give it to rounding; small matrices get eigvalsh.
    """
    n = a.shape[0]
    if n <= 2 * steps:
        return jnp.linalg.eigvalsh(a)[-1]
    tiny = jnp.finfo(a.dtype).eps * jnp.trace(a)  # |w| below this: an invariant subspace was found
    q0 = jax.random.normal(jax.random.PRNGKey(0), (n,), a.dtype) + 1  # + 1: the constant mode of kernels
    basis = jnp.zeros((steps + 1, n), a.dtype).at[0].set(q0 / jnp.linalg.norm(q0))

    def step(carry, j):
        basis, alpha, beta = carry
        w = jnp.matmul(a, basis[j], precision=_DYN_HI)
        alpha = alpha.at[j].set(jnp.dot(basis[j], w, precision=_DYN_HI))
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to rounding
            w = w - jnp.matmul(basis.T, jnp.matmul(basis, w, precision=_DYN_HI), precision=_DYN_HI)
        norm = jnp.linalg.norm(w)
        q = jnp.where(norm > tiny, w / jnp.where(norm > tiny, norm, 1.0), 0.0)
        return (basis.at[j + 1].set(q), alpha, beta.at[j].set(jnp.where(norm > tiny, norm, 0.0))), None

    zeros = jnp.zeros((steps,), a.dtype)
    (_, alpha, beta), _ = lax.scan(step, (basis, zeros, zeros), jnp.arange(steps))
    tri = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    return jnp.maximum(jnp.linalg.eigvalsh(tri)[-1], 0.0)


def _dyn_smallest_bound(chol, steps=8):
    """An upper bound on lambda_min of L L^T by inverse iteration with the Cholesky factor L (NaN if L is)."""
    n = chol.shape[0]
    z = jax.random.normal(jax.random.PRNGKey(1), (n, 1), chol.dtype)

    def step(z, _):
        z = z / jnp.linalg.norm(z)
        z = lax.linalg.triangular_solve(chol, z, left_side=True, lower=True)
        return lax.linalg.triangular_solve(chol, z, left_side=True, lower=True, transpose_a=True), None

    z, _ = lax.scan(step, z, None, length=steps)  # (L L^T)^-steps z0, normalised at each step
    return 1 / jnp.linalg.norm(step(z, None)[0])  # 1 / |(L L^T)^-1 z| with |z| = 1: at least lambda_min


def _dyn_limit(theta_reg, theta_dd, scale, theta_td, k_dd, k_td, k_tt, y, lam_max, nngp, with_cov):
    """The t = inf limit by Cholesky alone; the pseudo-inverse (one eigh) only if Theta_reg is singular.

    Singular: the Cholesky factor is not finite, or inverse iteration finds an eigenvalue at or below
    n eps lam_max (the cut of `_dyn_pinv_factors`). `lax.cond` runs one branch, so the eigh runs only then.
    """
    chol = lax.linalg.cholesky(theta_reg)
    cut = theta_reg.shape[0] * jnp.finfo(theta_reg.dtype).eps * lam_max
    regular = jnp.all(jnp.isfinite(chol)) & (_dyn_smallest_bound(chol) > cut)
    return lax.cond(regular,
                    lambda: _dyn_cholesky_limit(chol, theta_dd, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov),
                    lambda: _dyn_pinv_limit(theta_reg, scale, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov))


def _dyn_finite(theta_reg, scale, theta_td, k_dd, k_td, k_tt, y, t, rate, nngp, discrete, with_cov):
    """Every time from one eigendecomposition; t = inf entries by its pseudo-inverse. Also lambda_max."""
    lam, lam_dd, v = _dyn_eigh(theta_reg, scale)
    lam_max = jnp.max(lam)
    finite = jnp.isfinite(t)[:, None]
    g, e = _dyn_factors(lam, jnp.where(finite[:, 0], t, 0.0), rate, discrete)
    g_inf, e_inf = _dyn_pinv_factors(lam, lam_max)
    g, e = jnp.where(finite, g, g_inf), jnp.where(finite, e, e_inf)
    return _dyn_eigen(lam_dd, v, theta_td, k_dd, k_td, k_tt, y, g, e, nngp, with_cov), lam_max


def _dyn_core_impl(theta_dd, theta_td, k_dd, k_td, k_tt, y, t, learning_rate, diag_reg,
                   absolute, nngp, discrete, with_cov, all_infinite=False):
    """Mean (T, m, k), train mean (T, n, k), covariance (T, m, m) or None, and the maximal stable rate.

    all_infinite (every t is inf): Cholesky alone, lambda_max by Lanczos (gradient flow) or eigvalsh
    (discrete GD, whose divergence test needs it exactly); otherwise one eigh serves every time.
    """
    n = theta_dd.shape[0]
    size = y.shape[0] * y.shape[1]
    scale = diag_reg if absolute else diag_reg * jnp.trace(theta_dd) / n
    theta_reg = theta_dd + scale * jnp.eye(n, dtype=theta_dd.dtype)
    if all_infinite:
        lam_max = jnp.linalg.eigvalsh(theta_reg)[-1] if discrete else _dyn_lanczos_max(theta_reg)
        limit = _dyn_limit(theta_reg, theta_dd, scale, theta_td, k_dd, k_td, k_tt, y, lam_max, nngp, with_cov)
        out = [None if a is None else jnp.broadcast_to(a, t.shape + a.shape) for a in limit]
    else:
        out, lam_max = _dyn_finite(theta_reg, scale, theta_td, k_dd, k_td, k_tt, y, t,
                                   learning_rate / size, nngp, discrete, with_cov)
    max_rate = jnp.where(lam_max > 0, 2 * size / jnp.where(lam_max > 0, lam_max, 1.0), jnp.inf)
    diverges = discrete & (learning_rate >= max_rate)  # (1 - eta lam / N)^t does not tend to 0: no limit
    at_inf = (diverges & ~jnp.isfinite(t))[:, None, None]
    mean, train, cov = (None if a is None else jnp.where(at_inf, jnp.nan, a) for a in out)
    return mean, train, cov, max_rate


_dyn_core = jax.jit(_dyn_core_impl, static_argnames=("absolute", "nngp", "discrete", "with_cov", "all_infinite"))


def _dyn_loss(f, y):
    """sum((f - y)^2) / (2 y.size) for each time: f (T, n, k), y (n, k)."""
    return jnp.sum((f - y[None]) ** 2, axis=(1, 2)) / (2 * y.size)


def _dyn_max_rate(k_train_train, output_dim, diag_reg, absolute):
    """2 n k / lambda_max of the (regularised) train kernel: gradient descent is stable below it."""
    k = jnp.asarray(k_train_train)
    n = k.shape[0]
    scale = diag_reg if absolute else diag_reg * jnp.trace(k) / n
    lam_max = float(jnp.linalg.eigvalsh(k + scale * jnp.eye(n, dtype=k.dtype))[-1])
    return float(2 * n * output_dim / lam_max) if lam_max > 0 else float("inf")


def _kernel_blocks(x1, x2, hyperparameters):
    """(nngp, ntk) of the generated module's own `kernel` (a name the module defines)."""
    return kernel(x1, x2, **hyperparameters)  # noqa: F821


def _dyn_predict_one(theta_dd, theta_td, k_dd, k_td, k_tt, y, times, y_test, name, learning_rate, discrete,
                     diag_reg, diag_reg_absolute):
    """The dict `predict` returns, for one kernel `name` ("ntk" or "nngp") that trains."""
    mean, train, cov, max_rate = _dyn_core(
        theta_dd, theta_td, k_dd, k_td, k_tt, y, times, jnp.asarray(learning_rate, DTYPE),  # noqa: F821
        jnp.asarray(diag_reg, DTYPE), absolute=bool(diag_reg_absolute), nngp=name == "nngp",  # noqa: F821
        discrete=bool(discrete), with_cov=k_tt is not None, all_infinite=bool(jnp.all(jnp.isinf(times))))
    test_loss = None if y_test is None else _dyn_loss(mean, y_test)
    return {"t": times, "mean": mean, "cov": cov, "train_mean": train, "train_loss": _dyn_loss(train, y),
            "test_loss": test_loss, "max_learning_rate": float(max_rate),
            "diverges": bool(discrete) and float(learning_rate) >= float(max_rate), "kernel": name}


def predict(x_train, y_train, x_test, t, kernel="ntk", learning_rate=1.0, discrete=False, diag_reg=0.0,
            diag_reg_absolute=False, y_test=None, cov=True, compute_cov=None, **hyperparameters):
    """Mean and covariance of the infinite ensemble trained on (x_train, y_train), on x_test at times t.

    kernel: "ntk" (gradient flow / descent on all layers), "nngp" (readout only; t = inf is the exact GP
    posterior) or "both" (the two from one evaluation of the kernels: a dict {"nngp": ..., "ntk": ...}).
    t: times (np.inf allowed); with discrete=True, numbers of gradient-descent steps. cov=False (alias
    compute_cov) skips the test-test kernel and the covariance. diag_reg: added to the train kernel's
    diagonal, times its mean diagonal unless diag_reg_absolute.
    Returns a dict: t, mean (T, m, k), cov (T, m, m) or None, train_mean (T, n, k), train_loss (T,),
    test_loss (T,) or None, max_learning_rate (2 n k / lambda_max), diverges (discrete GD at or above
    max_learning_rate: the loss grows without bound), kernel. Sources: Lee et al. 2019; Jacot et al. 2018.
    """
    if kernel not in ("ntk", "nngp", "both"):
        raise ValueError(f"kernel must be 'ntk', 'nngp' or 'both', got {kernel!r}")
    with_cov = bool(cov if compute_cov is None else compute_cov)
    y = jnp.asarray(y_train, DTYPE)  # noqa: F821
    y = y[:, None] if y.ndim == 1 else y
    yt = None if y_test is None else jnp.asarray(y_test, DTYPE)  # noqa: F821
    yt = yt[:, None] if yt is not None and yt.ndim == 1 else yt
    times = jnp.atleast_1d(jnp.asarray(t, DTYPE))  # noqa: F821
    nngp_dd, ntk_dd = _kernel_blocks(x_train, None, hyperparameters)
    nngp_td, ntk_td = _kernel_blocks(x_test, x_train, hyperparameters)
    k_tt = _kernel_blocks(x_test, None, hyperparameters)[0] if with_cov else None
    options = (learning_rate, discrete, diag_reg, diag_reg_absolute)
    out = {}
    for name in ("nngp", "ntk") if kernel == "both" else (kernel,):
        theta_dd, theta_td = (nngp_dd, nngp_td) if name == "nngp" else (ntk_dd, ntk_td)
        out[name] = _dyn_predict_one(theta_dd, theta_td, nngp_dd, nngp_td, k_tt, y, times, yt, name, *options)
    return out if kernel == "both" else out[kernel]


def max_learning_rate(x_train, output_dim=1, kernel="ntk", diag_reg=0.0, diag_reg_absolute=False,
                      **hyperparameters):
    """The maximal stable learning rate 2 n k / lambda_max of gradient descent (Lee et al. 2019)."""
    nngp_dd, ntk_dd = _kernel_blocks(x_train, None, hyperparameters)
    return _dyn_max_rate(nngp_dd if kernel == "nngp" else ntk_dd, output_dim, diag_reg, diag_reg_absolute)


# -- public names for ntksym's runtime (ntksym/runtime): generated modules carry the code above, not these
core = _dyn_core
max_rate = _dyn_max_rate
