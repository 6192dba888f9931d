"""The architectures of tests/data/nt_reference_extra.json, as spec layer lists (read by
make_reference_cases.py): 1-D and 2-D convolutions, strides, VALID / SAME / CIRCULAR padding, avg_pool,
residual scale != 1, layer norm and dense on pixels, deep stacks, the standard parameterization.
`{"repeat": {"repeat": N, "layers": [...]}}` is a shorthand that the generator writes out."""

from __future__ import annotations


def relu_conv(filter_, **extra):
    return [
        {"conv": {"filter": filter_, "w_std": 1.4, "b_std": 0.1, **extra}},
        {"activation": {"name": "relu"}},
    ]


def erf_conv(filter_, **extra):
    return [
        {"conv": {"filter": filter_, "w_std": 1.2, "b_std": 0.2, **extra}},
        {"activation": {"name": "erf"}},
    ]


READOUT = [{"dense": {"width": 1, "w_std": 1.0, "b_std": 0.0}}]
GAP, FLAT = [{"global_avg_pool": {}}], [{"flatten": {}}]

CASES = [
    # 1-D convolutions
    ("conv1d-relu-same-flatten", "ntk", [8, 3], relu_conv([3]) + relu_conv([3]) + FLAT + READOUT),
    (
        "conv1d-erf-valid-stride-gap",
        "ntk",
        [9, 2],
        erf_conv([3], stride=[2], padding="VALID") + erf_conv([2], padding="VALID") + GAP + READOUT,
    ),
    (
        "conv1d-relu-circular-avgpool-gap",
        "ntk",
        [8, 2],
        relu_conv([3], padding="CIRCULAR")
        + [{"avg_pool": {"window": [2]}}]
        + relu_conv([3], padding="CIRCULAR")
        + GAP
        + READOUT,
    ),
    (
        "conv1d-relu-circular-stride-flatten",
        "ntk",
        [7, 2],
        relu_conv([4], padding="CIRCULAR", stride=[2]) + relu_conv([3], padding="CIRCULAR") + FLAT + READOUT,
    ),
    (
        "conv1d-gelu-avgpool-same-stride",
        "ntk",
        [8, 2],
        [
            {"conv": {"filter": [3], "w_std": 1.3, "b_std": 0.3}},
            {"activation": {"name": "gelu"}},
            {"avg_pool": {"window": [3], "stride": [2], "padding": "SAME"}},
        ]
        + relu_conv([2])
        + FLAT
        + READOUT,
    ),
    (
        "conv1d-relu-repeat-stride",
        "ntk",
        [9, 2],
        [{"repeat": {"repeat": 2, "layers": relu_conv([3], stride=[2])}}] + GAP + READOUT,
    ),
    # 2-D convolutions
    (
        "conv2d-relu-valid-stride-flatten",
        "ntk",
        [5, 5, 2],
        relu_conv([2, 2], padding="VALID") + relu_conv([3, 3], stride=[2, 2]) + FLAT + READOUT,
    ),
    (
        "conv2d-erf-circular-stride-gap",
        "ntk",
        [5, 4, 2],
        erf_conv([3, 3], padding="CIRCULAR", stride=[2, 1])
        + erf_conv([2, 3], padding="CIRCULAR")
        + GAP
        + READOUT,
    ),
    (
        "conv2d-relu-avgpool-same-gap",
        "ntk",
        [4, 4, 2],
        relu_conv([3, 3])
        + [{"avg_pool": {"window": [2, 2], "stride": [1, 1], "padding": "SAME"}}]
        + relu_conv([3, 3])
        + GAP
        + READOUT,
    ),
    (
        "conv2d-abs-avgpool-circular-flatten",
        "ntk",
        [5, 5, 2],
        [
            {"conv": {"filter": [3, 3], "w_std": 1.1, "b_std": 0.2}},
            {"activation": {"name": "abs"}},
            {"avg_pool": {"window": [3, 3], "stride": [2, 2], "padding": "CIRCULAR"}},
        ]
        + FLAT
        + READOUT,
    ),
    (
        "conv2d-relu-dense-on-pixels-gap",
        "ntk",
        [4, 4, 2],
        relu_conv([3, 3])
        + [{"dense": {"w_std": 1.3, "b_std": 0.2}}, {"activation": {"name": "relu"}}]
        + GAP
        + READOUT,
    ),
    # deeper stacks
    (
        "deep-conv1d-relu-8-gap",
        "ntk",
        [8, 2],
        relu_conv([3]) + [{"repeat": {"repeat": 7, "layers": relu_conv([3])}}] + GAP + READOUT,
    ),
    (
        "deep-conv2d-erf-8-flatten",
        "ntk",
        [4, 4, 2],
        [{"repeat": {"repeat": 8, "layers": erf_conv([3, 3])}}] + FLAT + READOUT,
    ),
    # residual blocks (scale != 1) and layer norm on spatial states
    (
        "res-conv2d-relu-scale",
        "ntk",
        [4, 4, 2],
        [
            {"conv": {"filter": [3, 3], "w_std": 1.0, "b_std": 0.1}},
            {
                "residual": {
                    "scale": 0.5,
                    "layers": [
                        {"activation": {"name": "relu"}},
                        {"conv": {"filter": [3, 3], "w_std": 1.4, "b_std": 0.1}},
                    ],
                }
            },
            {"activation": {"name": "relu"}},
        ]
        + GAP
        + READOUT,
    ),
    (
        "res-mlp-erf-scale",
        "ntk",
        [5],
        [
            {"dense": {"w_std": 1.0, "b_std": 0.1}},
            {
                "repeat": {
                    "repeat": 3,
                    "layers": [
                        {
                            "residual": {
                                "scale": 0.7,
                                "layers": [
                                    {"activation": {"name": "erf"}},
                                    {"dense": {"w_std": 1.5, "b_std": 0.2}},
                                ],
                            }
                        }
                    ],
                }
            },
            {"activation": {"name": "erf"}},
        ]
        + READOUT,
    ),
    (
        "ln-conv1d-relu-gap",
        "ntk",
        [8, 3],
        [
            {"conv": {"filter": [3], "w_std": 1.5, "b_std": 0.1}},
            {"layer_norm": {}},
            {"activation": {"name": "relu"}},
            {"conv": {"filter": [3], "w_std": 1.5, "b_std": 0.1}},
            {"layer_norm": {}},
            {"activation": {"name": "relu"}},
        ]
        + GAP
        + READOUT,
    ),
    # standard parameterization
    (
        "std-conv2d-relu-flatten",
        "standard",
        [4, 4, 2],
        relu_conv([3, 3], channels=4) + relu_conv([2, 2], channels=3, padding="VALID") + FLAT + READOUT,
    ),
    (
        "std-conv1d-erf-gap",
        "standard",
        [8, 3],
        [
            {"conv": {"filter": [3], "w_std": 1.2, "b_std": None, "channels": 5}},
            {"activation": {"name": "erf"}},
            {"conv": {"filter": [3], "w_std": 1.2, "b_std": 0.2, "channels": 6, "stride": [2]}},
            {"activation": {"name": "erf"}},
        ]
        + GAP
        + READOUT,
    ),
]
