"""Property tests over random specs and inputs at the extremes: finite, exactly symmetric and PSD to
rounding, or a NumericalError (never NaN); a hyperparameter float32 cannot hold is a SpecError. 8 examples by default; several hundred with `-m slow`.
Statistics: pytest tests/test_properties_extreme.py --hypothesis-show-statistics (docs/troubleshooting.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from extremes import BLOCKS, INPUT_KINDS, inputs, min_eigenvalue_ratio, rounding, spec_text
from hypothesis import HealthCheck, example, given, settings
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
# Found by this test: in float32, variances beyond 1e19 made q11 q22 overflow inside the carried gap and
# sqrt(det), and the kernel lost its off-diagonal entries (a correlation of 1 where the inputs' is -0.25)
_LARGE = dict(depth=12, w=5.0, b=1.0, parameterization="ntk", kind="norm 1e6", seed=0, n=3, dtype="float32")


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(case=cases(max_depth=30))
@example(case={"block": "identity", **_LARGE})
def test_random_specs_give_finite_symmetric_psd_kernels_or_a_clear_error(case):
    _check(case)


@pytest.mark.parametrize("block", ["identity", "relu"])  # the carried gap; the gap and sqrt(det)
def test_float32_keeps_the_correlations_of_variances_beyond_1e19(block):
    x = inputs(_LARGE["kind"], n=_LARGE["n"], seed=_LARGE["seed"])
    spec = ntksym.parse_spec(spec_text(block, _LARGE["depth"], _LARGE["w"], _LARGE["b"]))
    single, double = (ntksym.compile(spec, dtype=dtype).kernel(x) for dtype in ("float32", "float64"))
    for got, want in ((single.nngp, double.nngp), (single.ntk, double.ntk)):
        assert np.diag(want).min() > 1e20  # q11 q22 > 1e40: beyond float32
        got, want = np.asarray(got, np.float64), np.asarray(want)
        correlation = [k / np.sqrt(np.outer(np.diag(k), np.diag(k))) for k in (got, want)]
        np.testing.assert_allclose(correlation[0], correlation[1], rtol=0, atol=1e-6)  # measured: 1e-7


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(case=cases(max_depth=1000))
def test_random_deep_specs_give_finite_symmetric_psd_kernels_or_a_clear_error(case):
    _check(case)
