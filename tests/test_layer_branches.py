"""`branches` (ntksym/layers/branches.py): parallel paths merged by sum, concat or prod.

The kernels are compared with neural-tangents (the public cases `br-*`, also run by test_reference.py)
and, for cases that file lacks, with the independent numpy recursion of tests/reference_kernels.py; the
finite networks with the analytic kernels at two widths (the error must fall).
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import yaml
from conftest import DATA
from reference_kernels import kernels
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.errors import DerivationError, SpecError
from ntksym.runtime.check import with_width
from ntksym.runtime.empirical import empirical_ntk, monte_carlo_nngp
from ntksym.runtime.network import network

RNG = np.random.default_rng(11)


def _doc(layers, input_shape, parameterization="ntk", name="br"):
    return {"ntksym": 1, "name": name, "parameterization": parameterization, "input_shape": list(input_shape),
            "layers": layers}


def _spec(doc) -> ntksym.Spec:
    return ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False))


def _relative(got, want) -> float:
    return float(np.abs(np.asarray(got) - want).max() / np.abs(want).max())


def _dense(w, b=0.0, width=None):
    layer = {"w_std": w, "b_std": b}
    if width is not None:
        layer["width"] = width
    return {"dense": layer}


def _conv(w, b=0.0, channels=8, filt=(3, 3), stride=(1, 1)):
    return {"conv": {"filter": list(filt), "stride": list(stride), "padding": "SAME", "w_std": w, "b_std": b,
                     "channels": channels}}


RELU, ERF = {"activation": {"name": "relu"}}, {"activation": {"name": "erf"}}


def _branches(merge, *paths):
    return {"branches": {"merge": merge, "paths": [list(p) for p in paths]}}


# -- neural-tangents' public cases ----------------------------------------------------------------------

def _public(case_id):
    return next(c for c in json.loads((DATA / "nt_layers_public.json").read_text())["cases"] if c["id"] == case_id)


# The public cases themselves are compared with neural-tangents by tests/test_reference.py.


def test_the_numpy_recursion_agrees_with_neural_tangents_on_the_public_cases():
    """The independent recursion used below is itself checked against neural-tangents first."""
    for case_id in ("br-mlp-sum-identity-ntk-pub", "br-cnn-concat-ntk-pub", "br-mlp-prod-ntk-pub"):
        case = _public(case_id)
        nngp, ntk = kernels(_doc(case["layers"], case["input_shape"]), np.asarray(case["x1"]))
        assert _relative(nngp, np.asarray(case["nngp_11"])) < 1e-12
        assert _relative(ntk, np.asarray(case["ntk_11"])) < 1e-12


# -- cases the public file lacks, against the independent numpy recursion ------------------------------

EXTRA = {
    "three-paths-sum": (
        [_dense(1.3, 0.1), _branches("sum", [_dense(1.2), RELU, _dense(1.0, 0.1)], [], [_dense(0.7), ERF]),
         RELU, _dense(1.0, width=1)], (5,), "ntk"),
    "concat-dense-paths": (
        [_dense(1.2, 0.1, width=16),
         _branches("concat", [_dense(1.0, 0.2, width=8), RELU], [], [_dense(1.5, width=24)]),
         _dense(1.0), RELU, _dense(1.0, width=1)], (4,), "ntk"),
    "prod-cnn-full": (
        [_conv(1.4, 0.1, 6), RELU, _branches("prod", [_conv(1.2, 0.0, 6)], [_conv(1.0, 0.1, 6, (1, 1)), RELU, _conv(1.1, 0.0, 6)]),
         _conv(1.3), RELU, {"global_avg_pool": {}}, _dense(1.0, width=1)], (4, 4, 2), "ntk"),
    "prod-cnn-1d": (
        [_conv(1.4, 0.1, 6, (3,), (1,)), RELU,
         _branches("prod", [_conv(1.2, 0.0, 6, (3,), (1,))], [_conv(1.0, 0.1, 6, (1,), (1,)), RELU, _dense(1.1, width=6)]),
         _conv(1.3, 0.0, 6, (3,), (1,)), RELU, "flatten", _dense(1.0, width=1)], (5, 2), "ntk"),
    "concat-cnn-diagonal": (
        [_conv(1.4, 0.1, 6), _branches("concat", [_conv(1.2, 0.0, 5), RELU], [_conv(1.0, 0.1, 7, (1, 1))]),
         _conv(1.3), RELU, "flatten", _dense(1.0, width=1)], (4, 4, 2), "ntk"),
    "standard-concat": (
        [_dense(1.2, 0.1, width=16),
         _branches("concat", [_dense(1.0, 0.2, width=8), RELU], [], [_dense(1.5, width=24)]),
         _dense(1.1, 0.1, width=12), RELU, _dense(1.0, width=1)], (4,), "standard"),
    "standard-sum": (
        [_dense(1.1, 0.1, width=12), _branches("sum", [RELU, _dense(0.9, 0.0, width=12)], []),
         RELU, _dense(1.0, width=1)], (4,), "standard"),
    # a path without a width is fine where nothing after it needs its fan-in: the sum keeps the other's
    "standard-sum-widthless-path": (
        [_dense(1.2, 0.1, width=10), _branches("sum", [_dense(1.0)], [_dense(0.8, width=10)]), RELU,
         _dense(1.0, width=1)], (3,), "standard"),
    "standard-prod": (
        [_dense(1.2, 0.1, width=10), _branches("prod", [_dense(1.0, 0.2, width=10)], [RELU, _dense(1.3, width=10)]),
         _dense(1.0, width=7), RELU, _dense(1.0, width=1)], (3,), "standard"),
    "tiny-sum": ([_dense(1.1, 0.1), _branches("sum", [_dense(1.0), RELU, _dense(0.8)], []), _dense(1.0, width=1)],
                 (3,), "ntk"),
    "nested-prod-in-sum": (
        [_dense(1.2, 0.1),
         _branches("sum", [_dense(1.0), RELU, _branches("prod", [_dense(0.8)], [_dense(0.9), RELU, _dense(1.0, 0.3)]),
                           _dense(1.1)], []),
         RELU, _dense(1.0, width=1)], (4,), "ntk"),
    # a residual block inside another: each keeps its own skip state (the generated code once shared one name)
    "nested-residual": (
        [_dense(1.2, 0.1), {"residual": {"layers": [_dense(1.0), RELU, {"residual": {
            "layers": [_dense(0.8), RELU], "scale": 0.5}}]}}, _dense(1.0, width=1)], (4,), "ntk"),
    "repeat-of-sum": (
        [_dense(1.1, 0.1), {"repeat": 3, "layers": [_branches("sum", [_dense(1.0), RELU, _dense(0.6, 0.05)], [])]},
         RELU, _dense(1.0, width=1)], (4,), "ntk"),
}


SLOW = {"prod-cnn-full"}  # full mode, 2-D: 9 s; prod-cnn-1d is the fast variant


@pytest.mark.parametrize("name", [pytest.param(n, marks=(pytest.mark.slow,) if n in SLOW else ()) for n in sorted(EXTRA)])
def test_kernels_match_the_independent_numpy_recursion(name):
    layers, shape, parameterization = EXTRA[name]
    doc = _doc(layers, shape, parameterization, name)
    x1, x2 = RNG.standard_normal((4, *shape)), RNG.standard_normal((3, *shape))
    model = ntksym.compile(_spec(doc), "float64")
    both, n = model.kernel(np.concatenate([x1, x2])), len(x1)  # one program: K(x1, x1) and K(x1, x2) are blocks
    k12 = type(both)(both.nngp[:n, n:], both.ntk[:n, n:])
    k11 = type(both)(both.nngp[:n, :n], both.ntk[:n, :n])
    nngp12, ntk12 = kernels(doc, x1, x2)
    nngp11, ntk11 = kernels(doc, x1)
    for got, want in ((k12.nngp, nngp12), (k12.ntk, ntk12), (k11.nngp, nngp11), (k11.ntk, ntk11)):
        assert _relative(got, want) < 1e-10


def test_spatial_modes_follow_the_layers():
    """prod then global_avg_pool needs every pixel pair; concat then flatten only the pixel diagonal."""
    from ntksym.symbolic.spatial_plan import spatial_plan

    for name, mode in (("prod-cnn-full", "full"), ("concat-cnn-diagonal", "diagonal"), ("prod-cnn-1d", "diagonal")):
        layers, shape, parameterization = EXTRA[name]
        derivation = ntksym.derive(_spec(_doc(layers, shape, parameterization)))
        assert spatial_plan(derivation.spec, derivation.steps).mode == mode


@pytest.mark.parametrize("merge", ["sum", "concat", "prod"])
def test_one_path_is_the_path_itself(merge):
    x = RNG.standard_normal((3, 4))
    inner = [_dense(1.2, 0.1, width=8), RELU]
    tail = [_dense(1.0), _dense(1.0, width=1)]
    plain = ntksym.compile(_spec(_doc([_dense(1.1), *inner, *tail], (4,))), "float64").kernel(x)
    one = ntksym.compile(_spec(_doc([_dense(1.1), _branches(merge, inner), *tail], (4,))), "float64").kernel(x)
    np.testing.assert_allclose(one.ntk, plain.ntk, rtol=1e-12)
    np.testing.assert_allclose(one.nngp, plain.nngp, rtol=1e-12)


def test_two_identity_paths_add_up():
    """Two identity paths after a dense layer: sum doubles the kernels (exact here: one copy, doubled)."""
    x = RNG.standard_normal((3, 4))
    doubled = ntksym.compile(_spec(_doc([_dense(1.1), _branches("sum", [], []), RELU, _dense(1.0, width=1)], (4,))),
                             "float64").kernel(x)
    scaled = ntksym.compile(_spec(_doc([_dense(1.1 * 2**0.5), RELU, _dense(1.0, width=1)], (4,))), "float64").kernel(x)
    np.testing.assert_allclose(doubled.nngp, scaled.nngp, rtol=1e-12)


def test_correlated_inputs_keep_the_gap():
    """Nearly identical inputs: the carried correlation gap keeps sqrt(q11 q22) - q12 accurate through the
    merges, so the kernel of x and x + 1e-9 equals that of x with itself to first order."""
    x = RNG.standard_normal((1, 4))
    pair = np.concatenate([x, x + 1e-9 * RNG.standard_normal((1, 4))])
    for merge in ("sum", "prod"):
        layers = [_dense(1.2, 0.1), _branches(merge, [_dense(1.0, 0.2)], [_dense(1.3), RELU, _dense(1.0)]),
                  _dense(1.0), RELU, _dense(1.0, width=1)]
        k = ntksym.compile(_spec(_doc(layers, (4,))), "float64").kernel(pair)
        assert abs(k.nngp[0, 1] - k.nngp[0, 0]) / k.nngp[0, 0] < 1e-7
        assert np.all(np.linalg.eigvalsh(k.nngp) > -1e-12)


def test_concat_widths_may_be_hyperparameters():
    def spec(width):
        doc = _doc([_dense(1.2, 0.1, width=10), _branches("concat", [_dense(1.0, width=width), RELU], [_dense(0.8, width=5)]),
                    _dense(1.0, width=7), RELU, _dense(1.0, width=1)], (3,), "standard")
        doc["hyperparameters"] = {"h": 12.0}
        return _spec(doc)

    x = RNG.standard_normal((3, 3))
    by_name = ntksym.compile(spec("h"), "float64")
    np.testing.assert_allclose(by_name.kernel(x).ntk, ntksym.compile(spec(12), "float64").kernel(x).ntk, rtol=1e-13)
    assert not np.allclose(by_name.kernel(x, h=3.0).ntk, by_name.kernel(x).ntk)  # the weights follow h


# -- reports --------------------------------------------------------------------------------------------

def test_derive_reports_name_the_merge():
    layers, shape, parameterization = EXTRA["concat-dense-paths"]
    derivation = ntksym.derive(_spec(_doc(layers, shape, parameterization)))
    text = derivation.text()
    assert "branches, merge concat" in text and "c = (8, C_in, 24)" in text and "path 1: identity" in text
    assert r"\sum_i c_i" in derivation.latex()
    step = derivation.to_dict()["steps"][1]
    assert step["kind"] == "branches" and step["merge"] == "concat" and step["path_lengths"] == [2, 0, 1]
    prod = ntksym.derive(_spec(_doc(*EXTRA["standard-prod"][:2], "standard"))).text()
    assert "merge prod" in prod and "prod_(j != i)" in prod


def test_validate_describes_the_paths(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_doc(*EXTRA["concat-dense-paths"][:2]), sort_keys=False))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "concat([dense(8), relu] | [] | [dense(24)])" in result.output


def test_the_json_schema_takes_branches():
    jsonschema = pytest.importorskip("jsonschema")
    from ntksym.spec.json_schema import json_schema

    doc = _doc(*EXTRA["concat-dense-paths"][:2])
    jsonschema.validate(doc, json_schema())
    doc["layers"][1]["branches"]["merge"] = "add"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_schema())


# -- bad input ----------------------------------------------------------------------------------------------

BAD = {
    "unknown merge": ([_dense(1.0), {"branches": {"merge": "add", "paths": [[], [_dense(1.0)]]}}],
                      "layers[1].branches.merge", "expected one of sum, concat, prod"),
    "paths not lists": ([_dense(1.0), {"branches": {"merge": "sum", "paths": [_dense(1.0)]}}],
                        "layers[1].branches.paths", "list of layer lists"),
    "paths missing": ([_dense(1.0), {"branches": {"merge": "sum"}}], "layers[1].branches",
                      "missing required field `paths`"),
    "concat without width": ([_dense(1.0, width=8), _branches("concat", [_dense(1.0)], [])],
                             "layers[1].branches.paths[0]", "give the path's last dense layer a `width`"),
    "concat identity of unknown width": ([_dense(1.0), _branches("concat", [_dense(1.0, width=4)], [])],
                                         "layers[1].branches.paths[1]", "channel count"),
    "sum of different widths": ([_dense(1.0, width=8), _branches("sum", [_dense(1.0, width=4)], [])],
                                "layers[1].branches", "same number of channels from every path, got 4, 8"),
    "relu after concat": ([_dense(1.0, width=8), _branches("concat", [_dense(1.0, width=4)], []), RELU],
                          "layers[2].activation", "right after the merge at layers[1].branches"),
    "relu after prod": ([_dense(1.0), _branches("prod", [_dense(1.0)], [_dense(1.0)]), RELU],
                        "layers[2].activation", "put a dense / conv layer before it"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    layers, where, message = BAD[case]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_doc([*layers, _dense(1.0, width=1)], (4,)), sort_keys=False))
    result = CliRunner().invoke(app, ["derive", str(path)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert where in lines[0] and message in lines[0], lines[0]


def test_spatial_shape_mismatch_names_the_paths():
    layers = [_conv(1.0, channels=4), _branches("sum", [_conv(1.0, channels=4, stride=(2, 2))], []),
              {"global_avg_pool": {}}, _dense(1.0, width=1)]
    with pytest.raises(DerivationError, match=r"layers\[1\]\.branches: the paths end on different shapes "
                                              r"\(paths\[0\]: 2 x 2 pixels, paths\[1\]: 4 x 4 pixels\)"):
        ntksym.derive(_spec(_doc(layers, (4, 4, 2))))
    with pytest.raises(SpecError, match="non-empty list"):
        _spec(_doc([_dense(1.0), {"branches": {"merge": "sum", "paths": []}}], (4,)))


# -- finite networks --------------------------------------------------------------------------------------

def _ntk_errors(name, widths, seeds=2, samples=0):
    layers, shape, parameterization = EXTRA[name]
    spec = _spec(_doc(layers, shape, parameterization, name))
    x = jax.numpy.asarray(np.random.default_rng(5).standard_normal((4, *shape)))
    net = network(spec)
    out = []
    widths_matter = parameterization == "standard" or "concat" in name  # else one kernel serves every width
    exact = None if widths_matter else ntksym.compile(spec, "float64").kernel(x)
    for width in widths:
        if widths_matter:
            exact = ntksym.compile(with_width(spec, width), "float64").kernel(x)
        ntk = [float(np.linalg.norm(empirical_ntk(net.init(jax.random.PRNGKey(s), width), x) - exact.ntk)
                     / np.linalg.norm(exact.ntk)) for s in range(seeds)]
        nngp = None
        if samples:
            mc = monte_carlo_nngp(net, x, width=width, samples=samples, key=jax.random.PRNGKey(7))
            nngp = float(np.linalg.norm(mc - exact.nngp) / np.linalg.norm(exact.nngp))
        out.append((float(np.mean(ntk)), nngp))
    return out


def test_finite_network_converges_to_the_kernel_fast():
    (small, _), (large, _) = _ntk_errors("tiny-sum", (16, 1024), seeds=1)
    assert large < small / 3 and large < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["repeat-of-sum", "three-paths-sum", "concat-dense-paths", "standard-prod",
                                  "prod-cnn-1d"])
def test_finite_network_converges_to_the_kernel(name):
    (small, nngp_small), (large, nngp_large) = _ntk_errors(name, (16, 256), samples=64)
    assert large < small / 2 and nngp_large < nngp_small


@pytest.mark.parametrize("name", ["standard-prod", pytest.param("concat-cnn-diagonal", marks=pytest.mark.slow)])
def test_fast_empirical_ntk_equals_the_jacobian(name):
    layers, shape, parameterization = EXTRA[name]
    spec = _spec(_doc(layers, shape, parameterization))
    params = network(spec).init(jax.random.PRNGKey(2), 6)
    x = RNG.standard_normal((3, *shape))
    np.testing.assert_allclose(empirical_ntk(params, x, method="fast"), empirical_ntk(params, x, method="generic"),
                               rtol=1e-9)


def test_generated_module_builds_the_same_network(tmp_path):
    layers, shape, parameterization = EXTRA["standard-prod"]
    spec = _spec(_doc(layers, shape, parameterization, "gen"))
    module = ntksym.compile(spec, "float64").module
    params = module.init(jax.random.PRNGKey(0), 8)
    x = RNG.standard_normal((4, *shape))
    same = network(spec).apply(params, x)
    np.testing.assert_allclose(module.apply(params, x), same, rtol=1e-12)
    np.testing.assert_allclose(module.empirical_ntk(params, x), empirical_ntk(
        network(spec).init(jax.random.PRNGKey(0), 8), x), rtol=1e-9)
