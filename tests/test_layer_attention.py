"""`attention` (ntksym/layers/attention.py): neural-tangents' reference kernels, the 2-D layout, the
mechanisms, bad inputs, the derive report and the finite network."""

from __future__ import annotations

import json
import sys

import jax
import numpy as np
import pytest
from conftest import DATA, spec_text
from typer.testing import CliRunner

import ntksym
from ntksym.cli.main import app
from ntksym.codegen.emit import emit_module
from ntksym.errors import DerivationError, SpecError
from ntksym.runtime.empirical import empirical_ntk, has_fast_path, monte_carlo_nngp
from ntksym.runtime.network import apply, init, network

RNG = np.random.default_rng(11)

# -- neural-tangents' kernels ----------------------------------------------------------------------------
# compile times on 2 cores: the relu case about 4 s, the others 5-9 s (all also run by test_reference.py)
SLOW = {"att-softmax-lin-h2-b-res-ln-ntk-pub", "att-tf2-softmax-lin-ntk-pub", "mix-seq-conv-attention-ntk-pub",
        "att-identity-sqrt-h1-nob-ln-standard-pub"}


def _kinds(layers) -> set[str]:
    out = set()
    for layer in layers:
        if "repeat" in layer:
            out |= {"repeat"} | _kinds(layer["layers"])
            continue
        ((kind, params),) = layer.items()
        out.add(kind)
        out |= _kinds(params.get("layers", [])) if isinstance(params, dict) else set()
    return out


def _cases():
    cases = json.loads((DATA / "nt_layers_public.json").read_text())["cases"]
    return [pytest.param(c, id=c["id"], marks=(pytest.mark.slow,) if c["id"] in SLOW else ())
            for c in cases if "attention" in _kinds(c["layers"])]


def test_the_reference_data_has_the_attention_cases():
    ids = {p.id for p in _cases()}
    assert {"att-softmax-lin-h2-b-res-ln-ntk-pub", "att-identity-sqrt-h1-nob-ln-standard-pub",
            "att-relu-lin-h2-nob-res-ntk-pub", "att-tf2-softmax-lin-ntk-pub", "mix-seq-conv-attention-ntk-pub"} <= ids


# Each of these cases is compared with neural-tangents by tests/test_reference.py (all of nt_layers_public.json).


# -- the kernel --------------------------------------------------------------------------------------
def _spec(attention: str, shape=(5, 3), before="  - dense: {w_std: 1.3, b_std: 0.1}\n", name="att") -> ntksym.Spec:
    layers = before + f"  - attention: {attention}\n  - activation: relu\n  - flatten\n  - dense: {{width: 1}}\n"
    return ntksym.parse_spec(spec_text(layers, name=name, extra=f"input_shape: {list(shape)}\n"))


@pytest.mark.parametrize("attention", [
    "{mechanism: softmax, w_key_std: 1.4, b_std: 0.2}",
    pytest.param("{mechanism: identity, linear_scaling: false}", marks=pytest.mark.slow)])
def test_a_2d_image_is_attended_like_the_sequence_of_its_pixels(attention):
    """Global attention without positional embeddings and flatten see only the set of pixels, so a 2 x 3
    image gives the kernel of the 6-pixel sequence: checks the 2-D pixel-pair layout end to end."""
    x = RNG.standard_normal((3, 2, 3, 2))
    image = ntksym.compile(_spec(attention, (2, 3, 2), "", name="img"), dtype="float64").kernel(x)
    sequence = ntksym.compile(_spec(attention, (6, 2), "", name="seq"), dtype="float64").kernel(x.reshape(3, 6, 2))
    np.testing.assert_allclose(image.nngp, sequence.nngp, rtol=1e-12)
    np.testing.assert_allclose(image.ntk, sequence.ntk, rtol=1e-12)


RELU_FIRST = "  - dense: {w_std: 1.3}\n  - activation: relu\n"


def _mechanism_kernel(mechanism, before, x):
    spec = _spec(f"{{mechanism: {mechanism}}}", (4, 3), before, name=f"m-{mechanism}-{len(before)}")
    return ntksym.compile(spec, dtype="float64").kernel(x)


def test_relu_and_abs_weights_agree_on_nonnegative_logits():
    """After a relu every pixel-pair covariance is >= 0, so relu and abs of the logits coincide."""
    x = RNG.standard_normal((3, 4, 3))
    relu, absolute = (_mechanism_kernel(m, RELU_FIRST, x) for m in ("relu", "abs"))
    np.testing.assert_allclose(absolute.ntk, relu.ntk, rtol=1e-12)


@pytest.mark.slow
def test_identity_agrees_on_nonnegative_logits_and_the_mechanisms_differ_on_raw_inputs():
    x = RNG.standard_normal((3, 4, 3))
    np.testing.assert_allclose(_mechanism_kernel("identity", RELU_FIRST, x).ntk,
                               _mechanism_kernel("relu", RELU_FIRST, x).ntk, rtol=1e-12)
    relu, absolute = (_mechanism_kernel(m, "", x) for m in ("relu", "abs"))  # raw inputs: negative covariances
    assert np.abs(relu.nngp - absolute.nngp).max() > 1e-3


def test_linear_scaling_softmax_by_hand():
    """One attention layer on the inputs, then the average over pixel pairs: the formula written out."""
    x = RNG.standard_normal((2, 4, 3))
    text = spec_text("  - attention: {w_query_std: 0.7, w_key_std: 2.0, w_value_std: 1.5, w_out_std: 0.8, b_std: 0.3}\n"
                     "  - global_avg_pool\n", name="hand", extra="input_shape: [4, 3]\n")
    got = ntksym.compile(ntksym.parse_spec(text), dtype="float64").kernel(x)
    cov = np.einsum("npc,mqc->nmpq", x, x) / 3  # Sigma(x_n(p), x_m(q))
    logits = 1.4 * np.einsum("nnpq->npq", cov)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    mixed = np.einsum("npa,nmab,mqb->nmpq", a, cov, a)
    nngp = (1.2**2 * mixed + 0.09).mean((2, 3))
    ntk = (1.2**2 * 2 * mixed + 0.09).mean((2, 3))
    np.testing.assert_allclose(got.nngp, nngp, rtol=1e-12)
    np.testing.assert_allclose(got.ntk, ntk, rtol=1e-12)


def test_hyperparameters_are_traced_and_differentiable():
    text = spec_text("  - dense: {w_std: 1.2}\n  - attention: {w_key_std: wk, b_std: bb}\n  - global_avg_pool\n"
                     "  - dense: {width: 1}\n", name="hp", extra="input_shape: [4, 2]\nhyperparameters: {wk: 1.1, bb: 0.2}\n")
    model = ntksym.compile(ntksym.parse_spec(text), dtype="float64")
    x = RNG.standard_normal((2, 4, 2))
    grad = jax.grad(lambda wk: model.module.kernel(x, wk=wk, bb=0.2)[1][0, 1])(1.1)
    step = 1e-6
    numeric = (model.module.kernel(x, wk=1.1 + step, bb=0.2)[1][0, 1]
               - model.module.kernel(x, wk=1.1 - step, bb=0.2)[1][0, 1]) / (2 * step)
    assert abs(float(grad) - float(numeric)) < 1e-6 * max(1.0, abs(float(numeric)))
    assert abs(float(grad)) > 1e-6


# -- bad inputs ----------------------------------------------------------------------------------------
BAD = {
    "non_spatial": ("input_shape: [8]\n", "  - dense: {}\n  - attention: {}\n  - dense: {}\n",
                    "layers\\[1\\]\\.attention needs spatial inputs"),
    "no_shape": ("", "  - dense: {}\n  - attention: {}\n  - dense: {}\n", "needs spatial inputs"),
    "sqrt_softmax": ("input_shape: [5, 4]\n", "  - attention: {linear_scaling: false}\n  - flatten\n  - dense: {}\n",
                     "linear_scaling: .*has no closed-form infinite-width kernel"),
    "sqrt_relu": ("input_shape: [5, 4]\n", "  - attention: {mechanism: relu, linear_scaling: false}\n  - flatten\n"
                  "  - dense: {}\n", "mechanism: relu. with .linear_scaling: false"),
    "mechanism": ("input_shape: [5, 4]\n", "  - attention: {mechanism: sofmax}\n  - flatten\n  - dense: {}\n",
                  "mechanism: expected one of softmax, identity, relu, abs.*Did you mean `softmax`"),
    "scaling_word": ("input_shape: [5, 4]\n", "  - attention: {linear_scaling: 1}\n  - flatten\n  - dense: {}\n",
                     "linear_scaling: expected true or false"),
    "heads_zero": ("input_shape: [5, 4]\n", "  - attention: {heads: 0}\n  - flatten\n  - dense: {}\n",
                   "heads: expected a whole number >= 1"),
    "after_flatten": ("input_shape: [5, 4]\n", "  - flatten\n  - attention: {}\n  - dense: {}\n",
                      "layers\\[1\\].attention: `attention` needs a spatial state"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_attention_specs_exit_2_with_one_line(name, tmp_path):
    extra, layers, message = BAD[name]
    path = tmp_path / "bad.yaml"
    path.write_text(spec_text(layers, name="bad", extra=extra))
    result = CliRunner().invoke(app, ["derive", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert __import__("re").search(message, lines[0]), lines[0]


def test_the_python_api_raises_spec_and_derivation_errors():
    with pytest.raises(SpecError, match="linear_scaling"):
        _spec("{mechanism: abs, linear_scaling: false}")
    text = spec_text("  - flatten\n  - attention: {}\n  - dense: {}\n", name="f", extra="input_shape: [5, 4]\n")
    with pytest.raises(DerivationError, match="needs a spatial state"):
        ntksym.derive(ntksym.parse_spec(text))


# -- reports -------------------------------------------------------------------------------------------
def test_derive_prints_the_recursion_with_its_source(tmp_path):
    path = tmp_path / "att.yaml"
    path.write_text(spec_text("  - attention: {mechanism: relu, w_key_std: 0.5, b_std: 0.1}\n"
                              "  - attention: {mechanism: identity, linear_scaling: false}\n  - flatten\n"
                              "  - dense: {}\n", name="att", extra="input_shape: [5, 4]\n"))
    runner = CliRunner()
    text = runner.invoke(app, ["derive", str(path)])
    assert text.exit_code == 0, text.output
    assert "Hron et al. 2020" in text.output and "GlobalSelfAttention" in text.output
    assert "A_x(p, p') = max(0.5*q11(p, p'), 0)" in text.output
    assert "q12' = M[q12] + 0.01" in text.output and "t12' = 2*M[q12] + M[t12] + 0.01" in text.output
    assert "s_qq = S[q12, q12]" in text.output
    latex = runner.invoke(app, ["derive", str(path), "--format", "latex"])
    assert latex.exit_code == 0 and "Hron et al. 2020" in latex.output and r"M[q_{12}]" in latex.output
    data = json.loads(runner.invoke(app, ["derive", str(path), "--format", "json"]).output)
    first, second = data["steps"][0], data["steps"][1]
    assert first["kind"] == "attention" and first["mechanism"] == "relu" and "Hron" in first["source"]
    assert first["ntk"] == "2*M[q12] + M[t12] + 0.01"
    assert second["linear_scaling"] is False and "s_qq" in second["nngp"]


def test_generated_identifiers_are_reserved():
    sys.path.insert(0, str(DATA.parent))
    from test_hardening2 import _generated_identifiers

    from ntksym.spec.load import reserved_reason

    spec = _spec("{mechanism: identity, linear_scaling: false}")
    names = _generated_identifiers(emit_module(ntksym.derive(spec), "float32"))
    names |= _generated_identifiers(emit_module(ntksym.derive(_spec("{w_key_std: 1.2}")), "float32"))
    assert [n for n in sorted(names) if not reserved_reason(n)] == []


def test_validate_describes_the_layer_and_the_schema_lists_its_fields():
    from ntksym.layers import describe_layers
    from ntksym.spec.json_schema import json_schema

    assert "attention(abs, heads=3)" in describe_layers(_spec("{mechanism: abs, heads: 3}").layers)
    options = json_schema()["$defs"]["layers"]["items"]["oneOf"]
    (entry,) = [o for o in options if "attention" in o["properties"]]
    fields = entry["properties"]["attention"]["properties"]
    assert fields["mechanism"]["enum"] == ["softmax", "identity", "relu", "abs"]
    assert fields["linear_scaling"]["type"] == "boolean"


# -- the finite network --------------------------------------------------------------------------------
FINITE = ("  - dense: {w_std: 1.2, b_std: 0.1}\n  - residual:\n      layers:\n"
          "        - attention: {heads: 2, mechanism: MECH, w_key_std: 1.1, w_value_std: 0.9, b_std: 0.2}\n"
          "  - activation: relu\n  - flatten\n  - dense: {w_std: 1.0, width: 1}\n")


def _finite_spec(mechanism: str) -> ntksym.Spec:
    return ntksym.parse_spec(spec_text(FINITE.replace("MECH", mechanism), name="fin", extra="input_shape: [4, 3]\n"))


def _ntk_error(spec, x, width, exact, seed=0):
    ntk = np.asarray(empirical_ntk(init(jax.random.PRNGKey(seed), spec, width=width), x))
    return np.linalg.norm(ntk - exact.ntk) / np.linalg.norm(exact.ntk)


def _nngp_error(spec, x, width, exact, samples=64):
    mc = np.asarray(monte_carlo_nngp(network(spec), x, width=width, samples=samples, batch=samples,
                                     key=jax.random.PRNGKey(9)))
    return np.linalg.norm(mc - exact.nngp) / np.linalg.norm(exact.nngp)


SMALL = ("  - attention: {heads: 2, w_key_std: 1.5, b_std: 0.2}\n  - activation: relu\n  - flatten\n"
         "  - dense: {width: 1}\n")


def _small():
    spec = ntksym.parse_spec(spec_text(SMALL, name="small", extra="input_shape: [3, 2]\n"))
    x = RNG.standard_normal((3, 3, 2))
    return spec, x, ntksym.compile(spec, dtype="float64").kernel(x)


def test_finite_network_nngp_error_falls_with_width():
    """The fast, small check (one compile per width): the Monte Carlo NNGP of one attention layer on 3
    inputs of 3 x 2, widths 8 and 128 (fixed keys)."""
    spec, x, exact = _small()
    small, large = _nngp_error(spec, x, 8, exact), _nngp_error(spec, x, 128, exact)
    assert large < 0.7 * small and large < 0.05


@pytest.mark.slow
def test_finite_network_ntk_error_falls_with_width():
    spec, x, exact = _small()
    small, large = _ntk_error(spec, x, 8, exact), _ntk_error(spec, x, 128, exact)
    assert large < 0.5 * small and large < 0.3


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", ["softmax", "relu", "abs"])
def test_finite_network_errors_fall_with_width(mechanism):
    """Inside a residual block after a dense layer: the empirical NTK (mean of 2 networks) and the Monte
    Carlo NNGP at widths 16 and 256."""
    spec, x = _finite_spec(mechanism), RNG.standard_normal((3, 4, 3))
    exact = ntksym.compile(spec, dtype="float64").kernel(x)
    ntk = [np.mean([_ntk_error(spec, x, w, exact, seed) for seed in (0, 1)]) for w in (16, 256)]
    nngp = [_nngp_error(spec, x, w, exact) for w in (16, 256)]
    assert ntk[1] < 0.6 * ntk[0]  # about 1/4 in theory (16x the width); relu / abs logits are noisier
    assert nngp[1] < nngp[0] and nngp[1] < 0.1


@pytest.mark.slow
def test_finite_network_with_sqrt_scaling_converges_with_many_heads():
    """1/sqrt(n_key) logits stay random at any width, so the NTK concentrates only as heads grow too
    (32 heads here; the kernel is the heads -> infinity limit)."""
    text = FINITE.replace("heads: 2, mechanism: MECH", "heads: 32, mechanism: identity, linear_scaling: false")
    spec = ntksym.parse_spec(spec_text(text, name="sqrt", extra="input_shape: [4, 3]\n"))
    x = RNG.standard_normal((3, 4, 3))
    exact = ntksym.compile(spec, dtype="float64").kernel(x)
    ntk = [np.mean([_ntk_error(spec, x, w, exact, seed) for seed in (0, 1)]) for w in (16, 128)]
    assert ntk[1] < 0.6 * ntk[0]


def _generated(tmp_path, spec, name):
    from test_empirical_spatial import import_module_file

    path = tmp_path / f"{name}.py"
    path.write_text(emit_module(ntksym.derive(spec), "float64"))
    return import_module_file(path, name)


def test_generated_module_builds_the_runtime_network(tmp_path):
    spec = _finite_spec("softmax")
    module = _generated(tmp_path, spec, "generated_attention_apply")
    key, x1 = jax.random.PRNGKey(5), RNG.standard_normal((3, 4, 3))
    params, reference = module.init(key, 6), init(key, spec, width=6)
    np.testing.assert_allclose(module.apply(params, x1), apply(reference, x1), rtol=1e-12)
    assert not has_fast_path(reference.network)  # attention's weights: the Jacobian, not the factorised NTK


@pytest.mark.slow
def test_generated_module_empirical_ntk_is_the_jacobian_ntk(tmp_path):
    spec = _finite_spec("relu")
    module = _generated(tmp_path, spec, "generated_attention_ntk")
    key, x1, x2 = jax.random.PRNGKey(5), RNG.standard_normal((3, 4, 3)), RNG.standard_normal((2, 4, 3))
    params, reference = module.init(key, 6), init(key, spec, width=6)
    np.testing.assert_allclose(module.empirical_ntk(params, x1, x2), empirical_ntk(reference, x1, x2), rtol=1e-10)
    assert module.empirical_ntk(params, x1).shape == (3, 3)


def test_finite_network_shapes_follow_channels_keys_values_and_heads():
    text = spec_text("  - attention: {heads: 3, channels: 5, key_channels: 2, value_channels: 4}\n  - flatten\n"
                     "  - dense: {width: 1}\n", name="shapes", extra="input_shape: [4, 3]\n")
    params = init(jax.random.PRNGKey(0), ntksym.parse_spec(text))
    layer = params.layers[0]
    assert layer["k"].shape == (3, 3, 2) and layer["v"].shape == (3, 3, 4) and layer["o"].shape == (3, 4, 5)
    assert "q" not in layer and "b" not in layer  # tied queries and keys; b_std null: no bias
    sqrt = spec_text("  - attention: {mechanism: identity, linear_scaling: false, b_std: 0.1}\n  - flatten\n"
                     "  - dense: {width: 1}\n", name="sqrt", extra="input_shape: [4, 3]\n")
    layer = init(jax.random.PRNGKey(0), ntksym.parse_spec(sqrt), width=7).layers[0]
    assert layer["q"].shape == layer["k"].shape == (1, 3, 7) and layer["b"].shape == (7,)
