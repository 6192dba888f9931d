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
# t = inf: a Cholesky solve of Theta_reg, or the pseudo-inverse when Theta_reg is numerically singular.
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


def _dyn_eigen(p_test, p_train, vy, q_test, kd_eig, k_tt, g, e, nngp, with_cov):
    """Means (T, m, k), (T, n, k) and covariance (T, m, m) from g, E in the eigenbasis (see the top)."""
    mean = jnp.einsum("mi,ti,ik->tmk", p_test, g, vy, precision=_DYN_HI)
    train = jnp.einsum("ni,ti,ik->tnk", p_train, g, vy, precision=_DYN_HI)
    if not with_cov:
        return mean, train, None
    if nngp:
        cov = k_tt - jnp.einsum("mi,ti,li->tml", p_test, g * (1 + e), p_test, precision=_DYN_HI)
    else:
        w = p_test[None] * g[:, None, :]  # A V, (T, m, n)
        cross = jnp.einsum("tmi,li->tml", w, q_test, precision=_DYN_HI)  # A K(X, x')
        quad = jnp.matmul(jnp.matmul(w, kd_eig, precision=_DYN_HI), jnp.swapaxes(w, 1, 2), precision=_DYN_HI)
        cov = k_tt - cross - jnp.swapaxes(cross, 1, 2) + quad
    return mean, train, (cov + jnp.swapaxes(cov, 1, 2)) / 2


def _dyn_cholesky(theta_reg, theta_dd, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov):
    """The t = inf limit by a Cholesky solve of Theta_reg (NaN where Theta_reg is not positive definite)."""
    chol = lax.linalg.cholesky(theta_reg)

    def solve(b):
        z = lax.linalg.triangular_solve(chol, b, left_side=True, lower=True)
        return lax.linalg.triangular_solve(chol, z, left_side=True, lower=True, transpose_a=True)

    alpha = solve(y)
    mean = jnp.matmul(theta_td, alpha, precision=_DYN_HI)[None]
    train = jnp.matmul(theta_dd, alpha, precision=_DYN_HI)[None]
    if not with_cov:
        return mean, train, None
    b = solve(theta_td.T)  # Theta_reg^-1 Theta(X, x), (n, m)
    if nngp:
        cov = k_tt - jnp.matmul(theta_td, b, precision=_DYN_HI)
    else:
        cross = jnp.matmul(b.T, k_td.T, precision=_DYN_HI)
        quad = jnp.matmul(b.T, jnp.matmul(k_dd, b, precision=_DYN_HI), precision=_DYN_HI)
        cov = k_tt - cross - cross.T + quad
    return mean, train, ((cov + cov.T) / 2)[None]


def _dyn_core_impl(theta_dd, theta_td, k_dd, k_td, k_tt, y, t, learning_rate, diag_reg,
                   absolute, nngp, discrete, with_cov):
    """Mean (T, m, k), train mean (T, n, k), covariance (T, m, m) or None, and the maximal stable rate."""
    n = theta_dd.shape[0]
    size = y.shape[0] * y.shape[1]
    scale = diag_reg if absolute else diag_reg * jnp.trace(theta_dd) / n
    theta_reg = theta_dd + scale * jnp.eye(n, dtype=theta_dd.dtype)
    lam, v = jnp.linalg.eigh(theta_reg)  # one eigendecomposition serves every finite time
    lam = jnp.maximum(lam, 0.0)  # the kernel is positive semi-definite; negatives are rounding
    lam_max = jnp.max(lam)
    rate = learning_rate / size
    max_rate = jnp.where(lam_max > 0, 2 * size / jnp.where(lam_max > 0, lam_max, 1.0), jnp.inf)
    vy = jnp.matmul(v.T, y, precision=_DYN_HI)
    p_test = jnp.matmul(theta_td, v, precision=_DYN_HI)
    p_train = jnp.matmul(theta_dd, v, precision=_DYN_HI)
    q_test = kd_eig = None
    if with_cov and not nngp:
        q_test = jnp.matmul(k_td, v, precision=_DYN_HI)
        kd_eig = jnp.matmul(v.T, jnp.matmul(k_dd, v, precision=_DYN_HI), precision=_DYN_HI)
    finite = jnp.isfinite(t)
    g, e = _dyn_factors(lam, jnp.where(finite, t, 0.0), rate, discrete)
    out = _dyn_eigen(p_test, p_train, vy, q_test, kd_eig, k_tt, g, e, nngp, with_cov)
    # t = inf: Cholesky, unless Theta_reg is numerically singular, then the pseudo-inverse (eigenvalues
    # below n eps lam_max count as zero: those directions are never learnt, E = 1, g = 0).
    cut = n * jnp.finfo(theta_dd.dtype).eps * lam_max
    kept = lam > cut
    g_inf = jnp.where(kept, 1 / jnp.where(kept, lam, 1.0), 0.0)[None]
    pinv = _dyn_eigen(p_test, p_train, vy, q_test, kd_eig, k_tt, g_inf, jnp.where(kept, 0.0, 1.0)[None],
                      nngp, with_cov)
    chol = _dyn_cholesky(theta_reg, theta_dd, theta_td, k_dd, k_td, k_tt, y, nngp, with_cov)
    chol_finite = [jnp.all(jnp.isfinite(a)) for a in chol if a is not None]
    use_chol = (jnp.min(lam) > cut) & jnp.all(jnp.stack(chol_finite))
    diverges = discrete & (learning_rate >= max_rate)  # (1 - eta lam / N)^t does not tend to 0
    results = []
    for at_t, by_chol, by_pinv in zip(out, chol, pinv, strict=True):
        if at_t is None:
            results.append(None)
            continue
        limit = jnp.where(use_chol, by_chol, by_pinv)
        limit = jnp.where(diverges, jnp.nan, limit)
        results.append(jnp.where(finite[:, None, None], at_t, limit))
    mean, train, cov = results
    return mean, train, cov, max_rate


_dyn_core = jax.jit(_dyn_core_impl, static_argnames=("absolute", "nngp", "discrete", "with_cov"))


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


def predict(x_train, y_train, x_test, t, kernel="ntk", learning_rate=1.0, discrete=False, diag_reg=0.0,
            diag_reg_absolute=False, y_test=None, compute_cov=True, **hyperparameters):
    """Mean and covariance of the infinite ensemble trained on (x_train, y_train), on x_test at times t.

    kernel: "ntk" (gradient flow / descent on all layers) or "nngp" (readout only; t = inf is the exact GP
    posterior). t: times (np.inf allowed); with discrete=True, numbers of gradient-descent steps.
    diag_reg: added to the train kernel's diagonal, times its mean diagonal unless diag_reg_absolute.
    Returns a dict: t, mean (T, m, k), cov (T, m, m) or None, train_mean (T, n, k), train_loss (T,),
    test_loss (T,) or None, max_learning_rate (2 n k / lambda_max), diverges (discrete GD at or above
    max_learning_rate: the loss grows without bound), kernel. Sources: Lee et al. 2019; Jacot et al. 2018.
    """
    if kernel not in ("ntk", "nngp"):
        raise ValueError(f"kernel must be 'ntk' or 'nngp', got {kernel!r}")
    y = jnp.asarray(y_train, DTYPE)  # noqa: F821
    y = y[:, None] if y.ndim == 1 else y
    times = jnp.atleast_1d(jnp.asarray(t, DTYPE))  # noqa: F821
    nngp_dd, ntk_dd = _kernel_blocks(x_train, None, hyperparameters)
    nngp_td, ntk_td = _kernel_blocks(x_test, x_train, hyperparameters)
    k_tt = _kernel_blocks(x_test, None, hyperparameters)[0] if compute_cov else None
    theta_dd, theta_td = (nngp_dd, nngp_td) if kernel == "nngp" else (ntk_dd, ntk_td)
    mean, train, cov, max_rate = _dyn_core(
        theta_dd, theta_td, nngp_dd, nngp_td, k_tt, y, times, jnp.asarray(learning_rate, DTYPE),  # noqa: F821
        jnp.asarray(diag_reg, DTYPE), absolute=bool(diag_reg_absolute), nngp=kernel == "nngp",  # noqa: F821
        discrete=bool(discrete), with_cov=bool(compute_cov))
    test_loss = None
    if y_test is not None:
        yt = jnp.asarray(y_test, DTYPE)  # noqa: F821
        test_loss = _dyn_loss(mean, yt[:, None] if yt.ndim == 1 else yt)
    return {"t": times, "mean": mean, "cov": cov, "train_mean": train, "train_loss": _dyn_loss(train, y),
            "test_loss": test_loss, "max_learning_rate": float(max_rate),
            "diverges": bool(discrete) and float(learning_rate) >= float(max_rate), "kernel": kernel}


def max_learning_rate(x_train, output_dim=1, kernel="ntk", diag_reg=0.0, diag_reg_absolute=False,
                      **hyperparameters):
    """The maximal stable learning rate 2 n k / lambda_max of gradient descent (Lee et al. 2019)."""
    nngp_dd, ntk_dd = _kernel_blocks(x_train, None, hyperparameters)
    return _dyn_max_rate(nngp_dd if kernel == "nngp" else ntk_dd, output_dim, diag_reg, diag_reg_absolute)
