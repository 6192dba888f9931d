"""The NTK's spectrum on the training data, and gradient flow along each eigendirection.

Under gradient flow on the MSE loss sum((f - Y)^2) / (2 n k) (neural-tangents' and `ntksym.predict`'s
convention), the infinite ensemble's training residual evolves as r(t) = exp(-eta Theta t / (n k)) r(0),
r(0) = -Y (the ensemble mean starts at 0). In Theta's eigenbasis Theta = sum_i lambda_i v_i v_i^T each
direction decays on its own: ||v_i^T r(t)|| = ||v_i^T Y|| exp(-eta lambda_i t / (n k)). Directions with large
eigenvalues are learnt first, the small-eigenvalue ones (mostly noise and fine detail) last, which is why
stopping early regularises (Jacot, Gabriel & Hongler 2018, sec. 5; seed 002).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
from numpy.typing import ArrayLike

from ntksym.errors import InputError
from ntksym.runtime.hyperfit import targets


@dataclass(frozen=True)
class Spectrum:
    eigenvalues: np.ndarray  # (n,) of the train kernel, largest first
    projections: np.ndarray  # (n,) ||v_i^T Y||: how much of the targets lies along each eigenvector
    times: np.ndarray  # (T,)
    residuals: np.ndarray  # (T, n) ||v_i^T r(t)|| per direction under gradient flow
    learning_rate: float

    def learnt_fraction(self) -> np.ndarray:
        """(T,) fraction of the targets' squared norm learnt by time t: 1 - ||r(t)||^2 / ||Y||^2."""
        return 1.0 - np.sum(self.residuals**2, axis=1) / np.sum(self.projections**2)

    def to_dict(self) -> dict:
        return {"eigenvalues": self.eigenvalues.tolist(), "projections": self.projections.tolist(),
                "times": self.times.tolist(), "residuals": self.residuals.tolist(),
                "learning_rate": self.learning_rate, "learnt_fraction": self.learnt_fraction().tolist()}


def spectrum_of(kernel: ArrayLike, y: ArrayLike, times: ArrayLike, learning_rate: float = 1.0) -> Spectrum:
    """Spectrum of a train kernel (n, n) and the per-direction residual of gradient flow on targets y (class
    labels become centred one-hot rows, as in `ntksym fit`)."""
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise InputError(f"the train kernel must be square, got shape {k.shape}")
    y_matrix = targets(y)
    if y_matrix.shape[0] != k.shape[0]:
        raise InputError(f"y has {y_matrix.shape[0]} rows but the kernel is {k.shape[0]} x {k.shape[0]}")
    t = np.asarray(times, np.float64).reshape(-1)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise InputError("times must be finite and >= 0")
    if learning_rate <= 0:
        raise InputError(f"learning_rate must be > 0, got {learning_rate}")
    eigenvalues, vectors = np.linalg.eigh((k + k.T) / 2)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    projections = np.linalg.norm(vectors.T @ y_matrix, axis=1)
    rates = learning_rate * np.maximum(eigenvalues, 0.0) / y_matrix.size
    residuals = projections[None, :] * np.exp(-np.outer(t, rates))
    return Spectrum(eigenvalues, projections, t, residuals, float(learning_rate))


def ntk_spectrum(model, x: ArrayLike, y: ArrayLike, times: ArrayLike, *, kernel: str = "ntk",
                 learning_rate: float = 1.0, **hyperparameters: float) -> Spectrum:
    """`spectrum_of` the analytic NTK (or NNGP) of `model` (a CompiledModel) on x."""
    if kernel not in ("ntk", "nngp"):
        raise InputError(f"kernel must be ntk or nngp, got {kernel!r}")
    k = getattr(model.kernel(x, **hyperparameters), kernel)
    return spectrum_of(np.asarray(k), y, times, learning_rate)


def empirical_spectrum(spec, x: ArrayLike, y: ArrayLike, times: ArrayLike, *, width: int, seed: int = 0,
                       learning_rate: float = 1.0) -> Spectrum:
    """`spectrum_of` the empirical NTK at initialisation of `spec`'s finite network of hidden width `width`."""
    from ntksym.runtime.empirical import empirical_ntk
    from ntksym.runtime.network import init, input_dim_of

    x = np.asarray(x)
    params = init(jax.random.PRNGKey(seed), spec, width, input_dim=input_dim_of(x))
    return spectrum_of(np.asarray(empirical_ntk(params, x)), y, times, learning_rate)
