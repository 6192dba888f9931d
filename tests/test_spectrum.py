"""The NTK spectrum and gradient flow per eigendirection (ntksym/runtime/spectrum.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text

import ntksym
from ntksym.errors import InputError
from ntksym.runtime.hyperfit import targets
from ntksym.runtime.spectrum import empirical_spectrum, ntk_spectrum, spectrum_of

SPEC = spec_text("  - repeat: 2\n    layers:\n      - dense: {width: 256, w_std: 1.4, b_std: 0.1}\n"
                 "      - activation: relu\n  - dense: {width: 1, w_std: 1.0, b_std: 0.0}\n", name="spectrum")


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5))
    return x, rng.integers(0, 3, size=40)


def test_per_direction_residuals_are_those_of_the_trained_ensemble(problem):
    x, y = problem
    model = ntksym.compile(ntksym.parse_spec(SPEC), dtype="float64")
    times = np.array([0.0, 5.0, 50.0, 500.0])
    spectrum = ntk_spectrum(model, x, y, times, learning_rate=2.0)
    theta = np.asarray(model.kernel(x).ntk)
    np.testing.assert_allclose(spectrum.eigenvalues, np.sort(np.linalg.eigvalsh(theta))[::-1], rtol=1e-10)
    # the dynamics code's train mean at each time, projected on the eigenvectors, independently
    y_matrix = targets(y)
    trained = ntksym.predict(model, x, y_matrix, x[:2], times, learning_rate=2.0, cov=False)
    vectors = np.linalg.eigh(theta)[1][:, ::-1]
    residual = np.linalg.norm(np.einsum("ni,tnk->tik", vectors, trained.train_mean - y_matrix), axis=2)
    big = spectrum.eigenvalues > 1e-8 * spectrum.eigenvalues[0]  # rounding decides the null directions
    np.testing.assert_allclose(spectrum.residuals[:, big], residual[:, big], rtol=1e-6, atol=1e-10)
    fraction = spectrum.learnt_fraction()
    assert fraction[0] == pytest.approx(0.0, abs=1e-12) and np.all(np.diff(fraction) > 0)
    # the top direction is learnt before the bottom one: early stopping keeps the small-eigenvalue part out
    assert spectrum.residuals[2, 0] / spectrum.residuals[0, 0] < 1e-3 < spectrum.residuals[2, -1] / spectrum.residuals[0, -1]


@pytest.mark.slow  # about 10 s: finite networks at two widths
def test_empirical_spectrum_approaches_the_analytic_one_with_width(problem):
    x, y = problem
    spec = ntksym.parse_spec(SPEC)
    analytic = ntk_spectrum(ntksym.compile(spec, dtype="float64"), x, y, [0.0]).eigenvalues[:5]
    errors = [np.mean([np.max(np.abs(empirical_spectrum(spec, x, y, [0.0], width=w, seed=s).eigenvalues[:5]
                                     - analytic) / analytic) for s in range(2)]) for w in (32, 1024)]
    assert errors[1] < errors[0] / 2 and errors[1] < 0.1


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="square"):
        spectrum_of(np.ones((3, 4)), [0, 1, 2], [0.0])
    with pytest.raises(InputError, match="rows"):
        spectrum_of(np.eye(3), [0, 1], [0.0])
    with pytest.raises(InputError, match="times"):
        spectrum_of(np.eye(3), [0, 1, 2], [-1.0])
