"""The public reference kernels of neural-tangents, through the public API (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import DATA  # noqa: F401

import ntksym

QUADRATURE = {"tanh", "sigmoid", "softplus", "silu"}


def _uses(layers, names) -> bool:
    for layer in layers:
        if "repeat" in layer:  # {repeat: N, layers: [...]}: two keys
            if _uses(layer["layers"], names):
                return True
            continue
        ((kind, params),) = layer.items()
        if kind == "activation" and params.get("name") in names:
            return True
        if isinstance(params, dict) and "layers" in params and _uses(params["layers"], names):
            return True
    return False


def _spec(case) -> ntksym.Spec:
    doc = {"ntksym": 1, "name": case["id"], "parameterization": case["parameterization"],
           "input_shape": case["input_shape"], "layers": case["layers"]}
    return ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False))


# The quadrature cases compile the Mehler series and its fallback (13-28 s each on 2 cores): the one-layer
# tanh case runs by default, the deeper ones with `make test-slow`.
SLOW = {"fc-tanh-10", "fc-tanh-11"}
# one compile each (2-4 s): one case per closed-form family by default (the example specs check relu and erf
# against an independent recursion too), the others with `make test-slow`
SLOW |= {"fc-relu-0", "fc-relu-2", "fc-erf-3", "fc-erf-4", "fc-abs-6", "fc-abs-8", "fc-monomial-12"}
# the kernel of two input sets (`model.kernel(x1, x2)`) is its own program: checked on one case of each kind
# (the activation does not change that program's shape: erf stands for the dense ones, tanh's quadrature
# compiles in 3 s more)
CROSS = {"std-erf-64", "res-relu", "ln-erf", "cnn-relu-flatten", "att-tf2-softmax-lin-ntk-pub",
         "convt-1d-s2-same-ntk-pub", "convl-2d-s2x2-circular-standard-pub", "spool-gsp-1d-ntk-pub",
         "drop-cnn1d-standard-pub", "br-cnn-concat-ntk-pub", "mix-seq-conv-attention-ntk-pub"}


def _kernel_cases():
    import json

    cases = json.loads((DATA / "nt_reference_public.json").read_text())["cases"]
    return [pytest.param(c, id=c["id"], marks=(pytest.mark.slow,) if c["id"] in SLOW else ())
            for c in cases if "dynamics" not in c]


@pytest.mark.parametrize("case", _kernel_cases())
def test_kernel_matches_neural_tangents(case):
    model = ntksym.compile(_spec(case), dtype="float64")
    tol = 1e-6 if _uses(case["layers"], QUADRATURE) else 1e-8
    x1, x2 = np.asarray(case["x1"]), np.asarray(case["x2"])
    # one compiled program: the kernel of x1 and x2 together holds K(x1, x1) and K(x1, x2); the cross-kernel
    # call model.kernel(x1, x2), a second program, is checked on one case of each kind (CROSS)
    both = model.kernel(np.concatenate([x1, x2]))
    n = len(x1)
    blocks = {"nngp_11": both.nngp[:n, :n], "ntk_11": both.ntk[:n, :n], "nngp_12": both.nngp[:n, n:],
              "ntk_12": both.ntk[:n, n:]}
    if case["id"] in CROSS:
        cross = model.kernel(x1, x2)
        blocks |= {"nngp_12 (cross call)": cross.nngp, "ntk_12 (cross call)": cross.ntk}
    for key, got in blocks.items():
        want = np.asarray(case[key.split()[0]])
        assert got.shape == want.shape
        assert np.abs(got - want).max() / np.abs(want).max() <= tol, key


def _layer_kinds(layers) -> set[str]:
    kinds = set()
    for layer in layers:
        if "repeat" in layer:
            kinds |= {"repeat"} | _layer_kinds(layer["layers"])
            continue
        ((kind, params),) = layer.items()
        kinds.add(kind)
        params = params if isinstance(params, dict) else {}
        for child in [params.get("layers", [])] + list(params.get("paths", [])):
            kinds |= _layer_kinds(child)
    return kinds


def _layer_cases():
    """The public layer cases, and ours (tools/make_reference_cases.py --layers): of those, the first of each
    family (att-, ct-, cl-, br-) by default and the rest with `make test-slow` (one compile each)."""
    import json

    cases = [pytest.param(c, id=c["id"]) for c in json.loads((DATA / "nt_layers_public.json").read_text())["cases"]]
    seen = set()
    for c in json.loads((DATA / "nt_layers_extra.json").read_text())["cases"]:
        family = c["id"].split("-")[0]
        cases.append(pytest.param(c, id=c["id"], marks=(pytest.mark.slow,) if family in seen else ()))
        seen.add(family)
    return cases


@pytest.mark.parametrize("case", _layer_cases())
def test_layer_kernels_match_neural_tangents(case):
    """nt_layers_public.json and nt_layers_extra.json: attention, transposed and local convolutions,
    branches, sum pools, dropout (kinds not built yet are skipped, by name)."""
    from ntksym.layers import LAYERS

    missing = _layer_kinds(case["layers"]) - set(LAYERS)
    if missing:
        pytest.skip(f"layer kinds not implemented yet: {sorted(missing)}")
    test_kernel_matches_neural_tangents(case)
