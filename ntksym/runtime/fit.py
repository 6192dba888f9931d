"""Power-law fits of errors against width (used by check reports and their plots)."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

LEE_ET_AL_RATE = -0.5  # sup_t ||f_t - f_lin,t|| = O(width^-1/2) (Lee et al. 2019, Theorem 2.1)


def fit_rate(widths: ArrayLike, errors: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of log(mean error over seeds) against log(width): error ~ exp(b) width^slope."""
    errors = np.asarray(errors, np.float64)
    if errors.size == 0 or np.all(np.isnan(errors)):  # not measured (e.g. no training): no rate, no warning
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a width whose seeds are all nan: its mean is nan, skipped
        means = np.nanmean(errors, axis=1)
    ok = np.isfinite(means) & (means > 0)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(np.asarray(widths, np.float64)[ok]), np.log(means[ok]), 1)
    return float(slope), float(intercept)
