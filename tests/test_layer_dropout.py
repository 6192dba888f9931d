"""`dropout` (ntksym/layers/dropout.py): same-input variances grow by 1/keep, everything else stays."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text

import ntksym

X = np.random.default_rng(5).standard_normal((4, 3))
BODY = "  - dense: {w_std: 1.4, b_std: 0.1}\n  - activation: relu\n"


def _model(keep: float | None):
    drop = "" if keep is None else f"  - dropout: {{keep: {keep}}}\n"
    text = spec_text(BODY + drop + "  - dense: {w_std: 1.0}\n", name=f"drop-{str(keep).replace('.', '_')}")
    return ntksym.compile(ntksym.parse_spec(text), dtype="float64")


def test_dropout_scales_only_the_same_input_entries():
    plain, dropped = _model(None).kernel(X), _model(0.5).kernel(X)
    off = ~np.eye(len(X), dtype=bool)
    for got, want in ((dropped.nngp, plain.nngp), (dropped.ntk, plain.ntk)):
        np.testing.assert_allclose(got[off], want[off], rtol=1e-12)
    # before the readout: q11 -> q11 / keep; the readout's NNGP is w^2 q (+ 0), its NTK w^2 (q + t)
    np.testing.assert_allclose(np.diag(dropped.nngp), np.diag(plain.nngp) / 0.5, rtol=1e-12)
    np.testing.assert_allclose(np.diag(dropped.ntk), np.diag(plain.ntk) / 0.5, rtol=1e-12)


def test_keep_one_is_no_dropout():
    plain, kept = _model(None).kernel(X), _model(1.0).kernel(X)
    np.testing.assert_allclose(kept.ntk, plain.ntk, rtol=1e-12)


@pytest.mark.parametrize("keep", ["0", "1.5", "-0.2"])
def test_keep_outside_zero_one_is_refused(keep):
    with pytest.raises(ntksym.SpecError, match=r"keep.*expected a number > 0 and <= 1"):
        ntksym.parse_spec(spec_text(BODY + f"  - dropout: {{keep: {keep}}}\n"))


def test_the_finite_network_says_why_there_is_none():
    model = _model(0.8)
    with pytest.raises(NotImplementedError, match="training-time dropout has no deterministic finite network"):
        model.module.init(None)
