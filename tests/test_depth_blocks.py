"""Depth analysis of repeated blocks with layer norm, residual blocks and convolutions, checked against
the kernel the code generates: the compiled NNGP at depth (q*, c*, the growth of residual nets) and a
finite difference of its one-block correlation map (chi_1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ntksym
from ntksym.depth.fixed_points import Analysis, make_analysis
from tests.conftest import spec_text

HP = "hyperparameters: {{w_std: {w!r}, b_std: {b!r}, depth: 1}}\n"
DENSE = "{w_std: w_std, b_std: b_std}"


def _spec(body: str, after: str = f"  - dense: {DENSE}\n", w: float = 1.5, b: float = 0.3, extra: str = "") -> ntksym.Spec:
    layers = "  - repeat: depth\n    layers:\n" + body + after
    return ntksym.parse_spec(spec_text(layers, extra=HP.format(w=w, b=b) + extra))


def _pair(q: float, c: float, d: int = 2) -> np.ndarray:
    """Two inputs with <x, x> / d = q and correlation c."""
    r = math.sqrt(d * q)
    return np.array([[r, 0.0], [r * c, r * math.sqrt(1 - c * c)]])


def _state(model, x, **hp) -> tuple[float, float, float]:
    k = np.asarray(model.kernel(x, **hp).nngp)
    return float(k[0, 0]), float(k[1, 1]), float(k[0, 1] / math.sqrt(k[0, 0] * k[1, 1]))


LN_BODY = f"      - dense: {DENSE}\n      - activation: erf\n      - layer_norm\n"  # erf: closed form, fast to compile


@pytest.fixture(scope="module")
def ln_model():
    """dense, erf, layer_norm `depth` times, then a dense: the output is the analysed state (after a dense)."""
    return ntksym.compile(_spec(LN_BODY), dtype="float64")


@pytest.mark.parametrize("w, b", [(1.5, 0.3), (0.6, 0.3)])
def test_layer_norm_block_matches_the_generated_kernel_at_depth(ln_model, w, b):
    fp = ntksym.derive(_spec(LN_BODY, w=w, b=b)).fixed_points()
    assert fp.q_star == pytest.approx(w * w + b * b, rel=1e-14)  # layer norm: variance 1 before the dense
    x = _pair(0.7, 0.3)
    q1, q2, c = _state(ln_model, x, depth=200, w_std=w, b_std=b)
    assert q1 == pytest.approx(fp.q_star, rel=1e-12) and q2 == pytest.approx(fp.q_star, rel=1e-12)
    if fp.phase == "chaotic":
        assert c == pytest.approx(fp.c_star, abs=1e-8)
    else:  # ordered: 1 - c_l shrinks by chi_1 per layer
        assert fp.phase == "ordered" and fp.c_star == 1.0
        c1, c2 = (_state(ln_model, x, depth=n, w_std=w, b_std=b)[2] for n in (100, 200))
        assert ((1 - c2) / (1 - c1)) ** (1 / 100) == pytest.approx(fp.chi_1, rel=1e-4)


def test_layer_norm_chi_1_is_the_slope_of_the_compiled_one_block_map(ln_model):
    w, b = 1.5, 0.3
    fp = ntksym.derive(_spec(LN_BODY)).fixed_points()
    h = 1e-3
    corr = []
    for j in (0, 1, 2):  # inputs whose first dense puts the pair at (q*, (1 - j h) q*): one pass of the block
        q0, k0 = (fp.q_star - b * b) / w**2, ((1 - j * h) * fp.q_star - b * b) / w**2
        q1, q2, c = _state(ln_model, _pair(q0, k0 / q0), depth=1)
        corr.append(c * math.sqrt(q1 * q2) / fp.q_star)  # k' / q*
        assert q1 == pytest.approx(fp.q_star, rel=1e-12)
    slope = (3 * corr[0] - 4 * corr[1] + corr[2]) / (2 * h)
    assert fp.chi_1 == pytest.approx(slope, rel=1e-5)
    assert fp.chi_1 > 1.2  # w 1.5, b 0.3: chaotic


def test_layer_norm_moves_tanh_towards_chaos_and_bias_towards_order():
    for w in (0.8, 1.0, 1.5, 2.0):
        chi = {}
        for norm in (False, True):
            for b in (0.0, 0.3):
                body = f"      - dense: {DENSE}\n      - activation: tanh\n" + ("      - layer_norm\n" if norm else "")
                chi[norm, b] = ntksym.derive(_spec(body, w=w, b=b)).fixed_points().chi_1
        assert chi[True, 0.0] > chi[False, 0.0] and chi[True, 0.3] > chi[False, 0.3]
        assert chi[True, 0.3] < chi[True, 0.0] and chi[False, 0.3] < chi[False, 0.0]


def test_relu_with_layer_norm_has_chi_1_w2_over_w2_plus_b2():
    body = f"      - dense: {DENSE}\n      - activation: relu\n      - layer_norm\n"
    for w, b in ((0.8, 0.0), (2.0, 0.0), (1.5, 0.3)):
        fp = ntksym.derive(_spec(body, w=w, b=b)).fixed_points()
        assert fp.chi_1 == pytest.approx(w * w / (w * w + b * b), rel=1e-12)
    assert fp.phase == "ordered"


def test_layer_norm_before_the_activation_against_the_iterated_map():
    body = f"      - dense: {DENSE}\n      - layer_norm\n      - activation: erf\n"
    analysis = make_analysis(ntksym.derive(_spec(body)), {})
    fp = analysis.fixed_points()
    assert fp.q_star == pytest.approx(1.5**2 * (2 / math.pi) * math.asin(2 / 3) + 0.09, rel=1e-12)  # erf at q = 1
    q, k = np.array(0.5), np.array(0.45)
    for _ in range(300):
        q, k, _ = analysis._run(q, k, 1.5, 0.3, slope=False)
    assert float(q) == pytest.approx(fp.q_star, rel=1e-12) and float(k / q) == pytest.approx(fp.c_star, abs=1e-9)


CONV_HP = "input_shape: [6, 6, 2]\n"


def _conv_spec(padding: str, w=1.5, b=0.3) -> ntksym.Spec:
    conv = f"{{filter: [3, 3], padding: {padding}, w_std: w_std, b_std: b_std}}"
    body = f"      - conv: {conv}\n      - activation: erf\n"
    return _spec(body, f"  - conv: {conv}\n  - flatten\n  - dense: {{w_std: 1.0}}\n", w, b, CONV_HP)


def _images(q: float, c: float) -> np.ndarray:
    """Translation-invariant inputs: every pixel the same 2-channel vector (pixel kernel <x, x'> / 2)."""
    return np.broadcast_to(_pair(q, c)[:, None, None, :], (2, 6, 6, 2)).copy()


def test_conv_block_equals_the_dense_one_and_matches_the_circular_kernel():
    fp = ntksym.derive(_conv_spec("CIRCULAR")).fixed_points()
    dense = ntksym.derive(_spec(f"      - dense: {DENSE}\n      - activation: erf\n")).fixed_points()
    for name in ("q_star", "chi_1", "c_star", "chi_c"):
        assert getattr(fp, name) == pytest.approx(getattr(dense, name), rel=1e-12), name
    model = ntksym.compile(_conv_spec("CIRCULAR"), dtype="float64")
    q1, _, c = _state(model, _images(0.6, 0.2), depth=600)  # flatten + dense: the mean over pixels
    assert q1 == pytest.approx(fp.q_star, rel=1e-10) and c == pytest.approx(fp.c_star, abs=1e-8)
    assert any("CIRCULAR" in n for n in fp.notes)


def test_conv_with_same_padding_has_boundary_pixels_below_q_star():
    fp = ntksym.derive(_conv_spec("SAME")).fixed_points()
    assert any("boundary pixels see fewer terms" in n for n in fp.notes)
    model = ntksym.compile(_conv_spec("SAME"), dtype="float64")
    q1, _, _ = _state(model, _images(0.6, 0.2), depth=100)
    assert q1 < 0.97 * fp.q_star  # the pixel mean: boundary pixels have less variance


RES = ("      - residual:\n          scale: 0.5\n          layers:\n"
       f"            - dense: {DENSE}\n            - activation: ACT\n            - dense: {DENSE}\n")


def test_relu_residual_growth_and_normalised_chi_1_match_the_generated_kernel():
    spec = _spec(RES.replace("ACT", "relu"), after="")
    fp = ntksym.derive(spec).fixed_points()
    w2 = 1.5**2
    assert fp.phase == "no finite fixed point" and math.isinf(fp.q_star)
    assert fp.q_growth == pytest.approx(1 + 0.25 * w2 * w2 / 2, rel=1e-9)  # q' = q + a^2 w^2 (w^2 q / 2) + ...
    assert fp.chi_1 == pytest.approx(1.0, abs=1e-9) and fp.c_exponent == 2.0 and fp.c_star == 1.0
    model = ntksym.compile(spec, dtype="float64")
    x = _pair(1.0, 0.5)
    (qa, _, _), (qb, _, _) = _state(model, x, depth=60), _state(model, x, depth=61)
    assert qb / qa == pytest.approx(fp.q_growth, rel=1e-9)
    # polynomial, not exponential: 1 - c_l ~ A / l^2 (the normalised arc-cosine map's kink); the log-log
    # slope over layers 400-1600 is 1.79 on the way to 2 (at w_std 1, b_std 0: q stays below float64's range)
    gaps = {n: 1 - _state(model, x, depth=n, w_std=1.0, b_std=0.0)[2] for n in (400, 1600)}
    assert math.log(gaps[400] / gaps[1600]) / math.log(4) == pytest.approx(2.0, abs=0.25)


def test_erf_residual_grows_linearly_and_correlations_converge_polynomially():
    spec = _spec(RES.replace("ACT", "erf"), after="")
    fp = ntksym.derive(spec).fixed_points()
    assert fp.q_growth == 1.0 and fp.q_step == pytest.approx(0.25 * (1.5**2 + 0.09), rel=1e-6)
    assert fp.chi_1 == 1.0 and 0 < fp.c_star < 0.2 and 0.2 < fp.c_exponent < 0.6
    model = ntksym.compile(spec, dtype="float64")
    x = _pair(1.0, 0.5)
    states = {n: _state(model, x, depth=n) for n in (4000, 4001, 16000)}
    assert states[4001][0] - states[4000][0] == pytest.approx(fp.q_step, rel=0.03)  # O(q^-1/2) corrections
    gap = {n: abs(states[n][2] - fp.c_star) for n in (4000, 16000)}
    assert math.log(gap[4000] / gap[16000]) / math.log(4) == pytest.approx(fp.c_exponent, abs=0.06)


def test_the_composed_map_is_the_generated_kernel_one_block_at_a_time():
    spec = _spec(RES.replace("ACT", "erf") + "      - layer_norm\n", after="")
    analysis = make_analysis(ntksym.derive(spec), {})
    assert not isinstance(analysis, Analysis)
    model = ntksym.compile(spec, dtype="float64")
    for q, c in ((0.3, 0.2), (2.0, 0.9)):
        q1, _, c1 = _state(model, _pair(q, c), depth=1)
        qm, km, _ = analysis._run(np.array(q), np.array(c * q), 1.5, 0.3)
        assert q1 == pytest.approx(float(qm), rel=1e-11) and c1 * q1 == pytest.approx(float(km), rel=1e-10)
