#!/usr/bin/env python3
"""Make extra reference kernels with neural-tangents: tests/data/nt_reference_extra.json, and with
`--layers` tests/data/nt_layers_extra.json (attention, transposed / local convolutions, branches).

Runs ONLY in a separate environment that has neural-tangents 0.6.5 (never imported by the tests or
the package; see ../shared/reference/README.md):

    python3 -m venv /work/nt-ref-env
    /work/nt-ref-env/bin/pip install "jax==0.4.26" "jaxlib==0.4.26" "numpy<2" "scipy<1.13" frozendict
    /work/nt-ref-env/bin/pip install --no-deps neural-tangents==0.6.5
    # then comment out `from . import experimental` in neural_tangents/__init__.py (it needs TensorFlow)
    /work/nt-ref-env/bin/python tools/make_reference_cases.py [-o tests/data/nt_reference_extra.json]
    /work/nt-ref-env/bin/python tools/make_reference_cases.py --layers

(benchmarks/nt_env.py builds such an environment at benchmarks/.nt-env.)

Each case is written in the format of the public file: `id`, `parameterization`, `input_shape`,
`layers` (a spec's layer list), `x1`, `x2` and the kernels `nngp_12`, `ntk_12` (x1 by x2), `nngp_11`,
`ntk_11` (x1 by x1), all from `kernel_fn` in float64. Layers map one to one onto `stax` layers; a
residual block with `scale` s is `FanOut(2) >> parallel(Identity, block') >> FanInSum`, where block'
is the block with its last affine layer's w_std and b_std multiplied by s (exactly s * block(x)); it
is only used in the ntk parameterization, where that identity holds for the NTK too.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import reference_case_list  # noqa: E402  (tools/ is on sys.path when run as a script)
import reference_layer_cases  # noqa: E402
from neural_tangents import stax  # noqa: E402

ACTIVATIONS = {"relu": stax.Relu, "erf": stax.Erf, "abs": stax.Abs, "gelu": stax.Gelu}


def to_stax(layers: list[dict], parameterization: str):
    out = []
    for layer in layers:
        ((kind, p),) = layer.items()
        p = p or {}
        if kind == "dense":
            out.append(
                stax.Dense(
                    p.get("width", 8),
                    p.get("w_std", 1.0),
                    p.get("b_std", 0.0),
                    parameterization=parameterization,
                )
            )
        elif kind == "conv":
            out.append(
                stax.Conv(
                    p.get("channels", 8),
                    tuple(p["filter"]),
                    tuple(p.get("stride", [1] * len(p["filter"]))),
                    p.get("padding", "SAME"),
                    p.get("w_std", 1.0),
                    p.get("b_std", 0.0),
                    parameterization=parameterization,
                )
            )
        elif kind == "activation":
            out.append(ACTIVATIONS[p["name"]]())
        elif kind == "avg_pool":
            out.append(
                stax.AvgPool(
                    tuple(p["window"]), tuple(p.get("stride", p["window"])), p.get("padding", "VALID")
                )
            )
        elif kind == "global_avg_pool":
            out.append(stax.GlobalAvgPool())
        elif kind == "flatten":
            out.append(stax.Flatten())
        elif kind == "layer_norm":
            out.append(stax.LayerNorm(axis=-1))
        elif kind == "residual":
            block = scaled_block(p["layers"], p.get("scale", 1.0), parameterization)
            out.append(
                stax.serial(
                    stax.FanOut(2), stax.parallel(stax.Identity(), stax.serial(*block)), stax.FanInSum()
                )
            )
        elif kind == "repeat":
            out.extend(to_stax(p["layers"], parameterization) * p["repeat"])
        elif kind in ("conv_transpose", "conv_local"):
            layer = stax.ConvTranspose if kind == "conv_transpose" else stax.ConvLocal
            out.append(
                layer(
                    p.get("channels", 8),
                    tuple(p["filter"]),
                    tuple(p.get("stride", [1] * len(p["filter"]))),
                    p.get("padding", "SAME"),
                    p.get("w_std", 1.0),
                    p.get("b_std", 0.0),
                    parameterization=parameterization,
                )
            )
        elif kind == "attention":
            channels = p.get("channels", 8)
            out.append(
                stax.GlobalSelfAttention(
                    n_chan_out=channels,
                    n_chan_key=p.get("key_channels", channels),
                    n_chan_val=p.get("value_channels", channels),
                    n_heads=p.get("heads", 1),
                    linear_scaling=p.get("linear_scaling", True),
                    W_key_std=p.get("w_key_std", 1.0),
                    W_value_std=p.get("w_value_std", 1.0),
                    W_query_std=p.get("w_query_std", 1.0),
                    W_out_std=p.get("w_out_std", 1.0),
                    b_std=p.get("b_std"),
                    attention_mechanism=p.get("mechanism", "softmax").upper(),
                )
            )
        elif kind == "sum_pool":
            out.append(
                stax.SumPool(
                    tuple(p["window"]), tuple(p.get("stride", p["window"])), p.get("padding", "VALID")
                )
            )
        elif kind == "global_sum_pool":
            out.append(stax.GlobalSumPool())
        elif kind == "branches":
            merge = {"sum": stax.FanInSum(), "concat": stax.FanInConcat(axis=-1), "prod": stax.FanInProd()}
            paths = [stax.serial(*to_stax(path, parameterization)) if path else stax.Identity()
                     for path in p["paths"]]
            out.append(stax.serial(stax.FanOut(len(paths)), stax.parallel(*paths), merge[p["merge"]]))
        else:
            raise ValueError(f"no stax layer for {kind}")
    return out


def scaled_block(layers: list[dict], scale: float, parameterization: str):
    if scale == 1.0:
        return to_stax(layers, parameterization)
    assert parameterization == "ntk", "a residual scale is only exact in the ntk parameterization"
    layers = copy.deepcopy(layers)
    ((kind, p),) = layers[-1].items()
    assert kind in ("dense", "conv"), "a scaled residual block must end in dense or conv"
    p["w_std"] = p.get("w_std", 1.0) * scale
    p["b_std"] = p.get("b_std", 0.0) * scale
    return to_stax(layers, parameterization)


def unrolled(layers: list[dict]) -> list[dict]:
    """Repeats written out: every layer then has one key, as ../shared/tools/reference_check.py expects
    (tests/test_spatial_kernels.py checks that `repeat` gives the same kernels as its unrolled form)."""
    out = []
    for layer in layers:
        ((kind, p),) = layer.items()
        if kind == "repeat":
            out.extend(unrolled(p["layers"]) * p["repeat"])
        elif kind == "residual":
            out.append({"residual": {**p, "layers": unrolled(p["layers"])}})
        else:
            out.append(layer)
    return out


def make_case(
    case_id: str, parameterization: str, input_shape: list[int], layers: list[dict], seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    small = len(input_shape) == 3  # 2-D images: fewer examples keep the file small
    n1, n2 = (4, 3) if small else (6, 4)
    x1 = rng.standard_normal((n1, *input_shape))
    x2 = rng.standard_normal((n2, *input_shape))
    _, _, kernel_fn = stax.serial(*to_stax(layers, parameterization))
    k12 = kernel_fn(x1, x2, ("nngp", "ntk"))
    k11 = kernel_fn(x1, None, ("nngp", "ntk"))
    return {
        "id": case_id,
        "parameterization": parameterization,
        "input_shape": input_shape,
        "layers": unrolled(layers),
        "x1": x1.tolist(),
        "x2": x2.tolist(),
        "nngp_12": np.asarray(k12.nngp).tolist(),
        "ntk_12": np.asarray(k12.ntk).tolist(),
        "nngp_11": np.asarray(k11.nngp).tolist(),
        "ntk_11": np.asarray(k11.ntk).tolist(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="tests/data/nt_reference_extra.json")
    parser.add_argument("--layers", action="store_true",
                        help="the cases of reference_layer_cases.py (default -o tests/data/nt_layers_extra.json)")
    args = parser.parse_args(argv)
    if args.layers and args.output == parser.get_default("output"):
        args.output = "tests/data/nt_layers_extra.json"
    listed = reference_layer_cases.CASES if args.layers else reference_case_list.CASES
    cases = []
    for i, case in enumerate(listed):
        try:
            cases.append(make_case(*case, seed=i))
        except (NotImplementedError, ValueError) as error:  # combinations neural-tangents has no kernel for
            print(f"skipped {case[0]}: {error}", file=sys.stderr)
    doc = {
        "anchor": "neural-tangents 0.6.5 on jax 0.4.26, float64 (tools/make_reference_cases.py)",
        "cases": cases,
    }
    with open(args.output, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
