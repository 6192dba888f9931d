"""Depth analysis: fixed points, phases, the edge of chaos and the NTK at depth, checked against
independent scipy quadrature and against iterating the maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from conftest import ROOT
from scipy.integrate import dblquad, quad
from scipy.optimize import brentq

import ntksym
from ntksym.depth import mean_field as mf
from ntksym.depth.fixed_points import Analysis
from tests.conftest import spec_text


def _mlp(activation: str, w: float, b: float, depth: int = 10) -> ntksym.Derivation:
    layers = (
        f"  - repeat: {depth}\n    layers:\n      - dense: {{w_std: sigma_w, b_std: sigma_b}}\n"
        f"      - activation: {activation}\n  - dense: {{w_std: 1.0}}\n"
    )
    extra = f"hyperparameters: {{sigma_w: {w!r}, sigma_b: {b!r}}}\n"
    return ntksym.derive(ntksym.parse_spec(spec_text(layers, extra=extra)))


def _gauss(z):
    return np.exp(-z * z / 2) / np.sqrt(2 * np.pi)


def _expect(f, q):
    return quad(
        lambda z: f(np.sqrt(q) * z) * _gauss(z), -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200
    )[0]


def _expect_pair(f, q, c):
    """E[f(u) f(v)] for (u, v) of variance q and correlation c, by 2-D quadrature."""
    s = math.sqrt(1 - c * c)
    return dblquad(
        lambda z2, z1: f(np.sqrt(q) * z1) * f(np.sqrt(q) * (c * z1 + s * z2)) * _gauss(z1) * _gauss(z2),
        -10, 10, -10, 10, epsabs=1e-12, epsrel=1e-11,
    )[0]


def _sech2(x):
    return 1 / np.cosh(np.clip(x, -300, 300)) ** 2


def _tanh_reference(w2: float, b2: float) -> tuple[float, float]:
    """q* and chi_1 of tanh from scipy quad + brentq, independent of ntksym."""
    q = brentq(
        lambda q: w2 * _expect(lambda x: np.tanh(x) ** 2, q) + b2 - q, 1e-9, 100, xtol=1e-15, rtol=1e-15
    )
    return q, w2 * _expect(lambda x: _sech2(x) ** 2, q)


def test_tanh_fixed_point_and_chi_1_match_scipy_quadrature():
    fp = _mlp("tanh", 2.0, 0.3).fixed_points()
    q_ref, chi_ref = _tanh_reference(4.0, 0.09)
    assert fp.q_star == pytest.approx(q_ref, rel=1e-11)
    assert fp.chi_1 == pytest.approx(chi_ref, rel=1e-11)
    assert fp.phase == "chaotic"


def test_tanh_chaotic_c_star_is_a_fixed_point_of_the_scipy_correlation_map():
    w2, b2 = 4.0, 0.09
    fp = _mlp("tanh", 2.0, 0.3).fixed_points()
    q, c = fp.q_star, fp.c_star
    pair = _expect_pair(np.tanh, q, c)
    assert (w2 * pair + b2) / q == pytest.approx(c, abs=1e-9)
    dpair = _expect_pair(_sech2, q, c)
    assert fp.chi_c == pytest.approx(w2 * dpair, rel=1e-8)
    assert 0 < c < 1


def test_tanh_with_b2_005_is_critical_near_w2_176():
    """Schoenholz et al. 2017: tanh, sigma_b^2 = 0.05 is critical near sigma_w^2 = 1.76."""
    d = _mlp("tanh", 1.3, math.sqrt(0.05))
    eoc = d.edge_of_chaos()
    w2_ref = brentq(lambda w2: _tanh_reference(w2, 0.05)[1] - 1, 1.2, 3.0, xtol=1e-14)
    assert eoc.w_std**2 == pytest.approx(w2_ref, rel=1e-9)
    assert eoc.w_std**2 == pytest.approx(1.76, abs=0.005)
    assert eoc.chi_1 == pytest.approx(1.0, abs=1e-8)


def test_erf_with_no_bias_is_critical_at_w2_pi_over_4():
    d = _mlp("erf", 0.5, 0.0)
    eoc = d.edge_of_chaos()
    assert eoc.w_std**2 == pytest.approx(math.pi / 4, rel=1e-14)
    assert sp.simplify(d.fixed_points().symbolic.w_std_critical - sp.sqrt(sp.pi) / 2) == 0


def test_erf_chi_1_closed_form():
    fp = _mlp("erf", 1.5, 0.2).fixed_points()
    w, q_star = sp.Symbol("sigma_w", real=True), sp.Symbol("q_star", positive=True)
    assert sp.simplify(fp.symbolic.chi_1 - 4 * w**2 / (sp.pi * sp.sqrt(1 + 4 * q_star))) == 0
    assert fp.chi_1 == pytest.approx(4 * 2.25 / (math.pi * math.sqrt(1 + 4 * fp.q_star)), rel=1e-13)
    q_ref = brentq(
        lambda q: (
            2.25
            * _expect(lambda x: math.erf(x) ** 2 if np.isscalar(x) else np.vectorize(math.erf)(x) ** 2, q)
            + 0.04
            - q
        ),
        1e-6,
        50,
        xtol=1e-15,
    )
    assert fp.q_star == pytest.approx(q_ref, rel=1e-10)


def test_relu_closed_forms():
    fp = _mlp("relu", 1.2, 0.3).fixed_points()
    w, b = sp.Symbol("sigma_w", real=True), sp.Symbol("sigma_b", real=True)
    assert sp.simplify(fp.symbolic.q_star - b**2 / (1 - w**2 / 2)) == 0
    assert sp.simplify(fp.symbolic.chi_1 - w**2 / 2) == 0
    assert fp.q_star == pytest.approx(0.09 / (1 - 0.72), rel=1e-13)
    assert fp.chi_1 == pytest.approx(0.72, rel=1e-14)
    assert fp.c_star == 1.0 and fp.chi_c == pytest.approx(0.72, rel=1e-12)
    assert fp.xi_c == pytest.approx(-1 / math.log(0.72), rel=1e-12)
    assert fp.phase == "ordered" and fp.ntk.regime == "freeze"


def test_relu_phases_at_and_beyond_w2_2():
    d = _mlp("relu", 1.2, 0.0)
    edge = d.fixed_points(sigma_w=math.sqrt(2.0))
    assert edge.phase == "edge of chaos" and math.isnan(edge.q_star)  # every q is fixed
    beyond = d.fixed_points(sigma_w=1.5, sigma_b=0.1)
    assert beyond.phase == "no finite fixed point" and beyond.q_star == math.inf
    assert beyond.chi_1 == pytest.approx(1.5**2 / 2, rel=1e-12)  # the limit q -> inf of w^2 E[phi'^2]
    assert d.edge_of_chaos(b_std=0.5).w_std == pytest.approx(math.sqrt(2), rel=1e-9)


def test_relu_edge_of_chaos_polynomial_approach_matches_iteration():
    """1 - c_l ~ 9 pi^2 / (2 l^2) and the normalised NTK -> 1/4 off the diagonal (Hayou et al. 2019)."""
    fp = _mlp("relu", math.sqrt(2), 0.0).fixed_points()
    assert fp.ntk.approach_symbolic == str(9 * sp.pi**2 / 2)
    assert fp.ntk.approach_exponent == 2.0 and fp.ntk.off_diagonal_limit == 0.25

    def corr(c):
        return (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi

    c, theta, theta_diag, L = 0.0, 0.0, 0.0, 20000
    for _ in range(L):
        c_next = corr(c)
        theta = c_next + (1 - math.acos(c) / math.pi) * theta
        theta_diag = 1 + theta_diag
        c = c_next
    assert L * L * (1 - c) == pytest.approx(fp.ntk.approach_constant, rel=3e-3)  # O(log l / l) corrections
    assert theta / theta_diag == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize("activation,w,b", [("tanh", 2.0, 0.3), ("relu", 1.2, 0.3), ("erf", 1.2, 0.5)])
def test_xi_c_matches_the_decay_of_the_iterated_correlation_map(activation, w, b):
    d = _mlp(activation, w, b)
    fp = d.fixed_points()
    nd = Analysis(d, {}).nd
    c, gaps = 0.3 if fp.c_star == 1 else fp.c_star + 0.05, []
    for _ in range(150):
        c = float(mf.correlation_map(nd, w * w, b * b, fp.q_star, np.array(c)))
        gaps.append(abs(c - fp.c_star))
    tail = [g for g in gaps if 1e-12 < g < 1e-6][:8]  # deep: ReLU's map has e^(3/2) corrections
    assert len(tail) >= 3
    rate = (tail[-1] / tail[0]) ** (1 / (len(tail) - 1))
    assert -1 / math.log(rate) == pytest.approx(fp.xi_c, rel=2e-3)


def test_xi_q_uses_the_slope_of_the_length_map():
    fp = _mlp("tanh", 1.5, 0.2).fixed_points()
    q = fp.q_star
    # THEORY.md: 1/xi_q = -log(chi_1 + w^2 E[phi''(u) phi(u)]), phi'' = -2 tanh sech^2
    extra = 2.25 * _expect(lambda x: -2 * np.tanh(x) ** 2 * _sech2(x), q)
    assert fp.xi_q == pytest.approx(-1 / math.log(fp.chi_1 + extra), rel=1e-9)


def test_critical_curve_is_increasing_and_agrees_with_edge_of_chaos():
    d = _mlp("tanh", 1.3, 0.2)
    curve = d.critical_curve([0.0, 0.2, 0.5])
    assert curve[0] == 1.0 and np.all(np.diff(curve) > 0)
    assert curve[1] == pytest.approx(d.edge_of_chaos(b_std=0.2).w_std, rel=1e-12)


def test_tanh_with_no_bias_in_the_ordered_phase_has_q_star_zero():
    fp = _mlp("tanh", 0.8, 0.0).fixed_points()
    assert fp.q_star == 0.0 and fp.chi_1 == pytest.approx(0.64, rel=1e-14)
    assert math.isnan(fp.c_star) and any("q* = 0" in n for n in fp.notes)


def test_unrepeated_identical_pairs_are_analysed():
    layers = "".join("  - dense: {w_std: 1.5, b_std: 0.2}\n  - activation: erf\n" for _ in range(3))
    d = ntksym.derive(ntksym.parse_spec(spec_text(layers + "  - dense: {w_std: 1.0}\n")))
    fp = d.fixed_points()
    assert fp.block == "layers[0].repeat" and fp.phase == "chaotic"  # rolled into a repeat (spec/rolling.py)


def test_blocks_with_layers_not_analysed_are_refused_with_a_reason():
    layers = (
        "  - repeat: 4\n    layers:\n      - residual:\n          layers:\n"
        "            - dense: {w_std: 1.0}\n            - activation: relu\n            - dropout: {keep: 0.9}\n"
    )
    d = ntksym.derive(ntksym.parse_spec(spec_text(layers)))
    with pytest.raises(
        ntksym.DerivationError, match="not analysed: layers\\[0\\].repeat: its body has dropout"
    ):
        d.fixed_points()
    out = d.to_dict()["fixed_point"]
    assert out["applies"] is False and "dropout" in out["reason"]


def test_unknown_override_is_refused():
    with pytest.raises(ntksym.InputError, match="unknown hyperparameter `sigma_ww`.*Did you mean `sigma_w`"):
        _mlp("relu", 1.0, 0.1).fixed_points(sigma_ww=1.0)


def test_elu_fixed_point_matches_scipy_despite_the_kink():
    fp = _mlp("elu", 1.4, 0.1).fixed_points()

    def elu(x):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def delu(x):
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))

    q = brentq(lambda q: 1.96 * _expect(lambda x: elu(x) ** 2, q) + 0.01 - q, 1e-6, 50, xtol=1e-15)
    assert fp.q_star == pytest.approx(q, rel=1e-10)
    assert fp.chi_1 == pytest.approx(1.96 * _expect(lambda x: delu(x) ** 2, q), rel=1e-10)


def test_text_latex_and_json_of_one_derivation_share_one_depth_analysis():
    from unittest import mock

    from ntksym.depth import fixed_points

    derivation = ntksym.derive(ntksym.load_spec(ROOT / "specs" / "tanh_edge_of_chaos.yaml"))
    original = fixed_points.Analysis.fixed_points
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    with mock.patch.object(fixed_points.Analysis, "fixed_points", counted):
        derivation.text(), derivation.latex(), derivation.to_dict()
    assert len(calls) == 1
