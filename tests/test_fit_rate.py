"""Log-log error rates of check reports (ntksym/runtime/fit.py)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ntksym.runtime.fit import fit_rate


def test_rate_of_a_power_law_skipping_widths_without_measurements_and_never_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slope, intercept = fit_rate([1, 2, 4], [[1.0, np.nan], [np.nan, np.nan], [0.25, 0.25]])
        assert slope == pytest.approx(-1.0) and intercept == pytest.approx(0.0, abs=1e-12)
        assert all(math.isnan(v) for v in fit_rate([1, 2], [[np.nan], [np.nan]]))  # not measured (no training)
