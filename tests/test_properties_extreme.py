"""Property tests over random specs and inputs at the extremes: finite, exactly symmetric and PSD to
rounding, or a NumericalError (never NaN); a hyperparameter float32 cannot hold is a SpecError. 8 examples by default; several hundred with `-m slow`.
Statistics: pytest tests/test_properties_extreme.py --hypothesis-show-statistics (docs/troubleshooting.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from extremes import BLOCKS, INPUT_KINDS, inputs, min_eigenvalue_ratio, rounding, spec_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ntksym


@st.composite
def cases(draw, max_depth: int):
    return dict(block=draw(st.sampled_from(BLOCKS)), depth=draw(st.integers(1, max_depth)),
                w=draw(st.floats(0.1, 10.0)), b=draw(st.floats(0.0, 2.0)),
                parameterization=draw(st.sampled_from(["ntk", "standard"])),
                kind=draw(st.sampled_from(INPUT_KINDS)), seed=draw(st.integers(0, 2**16)),
                n=draw(st.integers(1, 6)), dtype=draw(st.sampled_from(["float32", "float64"])))


def _check(case: dict) -> None:
    spec = ntksym.parse_spec(spec_text(case["block"], case["depth"], case["w"], case["b"],
                                       parameterization=case["parameterization"]))
    x = inputs(case["kind"], n=case["n"], seed=case["seed"])
    try:
        model = ntksym.compile(spec, dtype=case["dtype"])
    except ntksym.SpecError as exc:  # a value float32 cannot hold (b = 1e-84): refused, naming the key
        assert case["dtype"] == "float32" and "rounds to 0 in float32" in str(exc) and "_std" in str(exc), exc
        return
    try:
        k = model.kernel(x)
    except ntksym.NumericalError as exc:  # overflow: a clear error with a remedy, never NaN
        assert "smaller w_std" in str(exc)
        return
    for matrix in (k.nngp, k.ntk):
        assert np.all(np.isfinite(matrix))
        np.testing.assert_array_equal(matrix, matrix.T)
        # PSD to rounding: 8 eps sqrt(depth) (3e-5 in float32 at depth 1000, 5.6e-14 in float64)
        assert min_eigenvalue_ratio(matrix) >= -rounding(case["dtype"], case["depth"]), case


# every example compiles its own module (about half a second on 2 cores): 5 by default, 400 deep ones below
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(case=cases(max_depth=30))
def test_random_specs_give_finite_symmetric_psd_kernels_or_a_clear_error(case):
    _check(case)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(case=cases(max_depth=1000))
def test_random_deep_specs_give_finite_symmetric_psd_kernels_or_a_clear_error(case):
    _check(case)
