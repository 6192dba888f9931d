"""The architectures of tests/data/nt_layers_extra.json (read by make_reference_cases.py --layers): every
attention mechanism and scaling, transposed and locally connected convolutions with each padding (also
followed by layers that need every pixel pair), and branches with each merge, more paths and the standard
parameterization. Cases neural-tangents has no kernel for are skipped by the generator (and listed)."""

from __future__ import annotations

RELU = [{"activation": {"name": "relu"}}]
READOUT = [{"dense": {"width": 1, "w_std": 1.0, "b_std": 0.0}}]
GAP, FLAT = [{"global_avg_pool": {}}], [{"flatten": {}}]


def attention(mechanism, linear_scaling, heads=1, b_std=None, **extra):
    return {"attention": {"heads": heads, "mechanism": mechanism, "linear_scaling": linear_scaling,
                          "w_query_std": 1.1, "w_key_std": 0.9, "w_value_std": 1.2, "w_out_std": 0.8,
                          "b_std": b_std, "channels": 16, **extra}}


def transformer_like(mechanism, linear_scaling, **extra):
    embed = {"dense": {"w_std": 1.2, "b_std": 0.1, "width": 16}}
    return [embed, attention(mechanism, linear_scaling, **extra)] + RELU + GAP + READOUT


def conv_like(kind, filter_, **extra):
    return [{kind: {"filter": filter_, "w_std": 1.3, "b_std": 0.1, **extra}}] + RELU


CASES = [
    # attention: each mechanism with both scalings (the generator skips what neural-tangents refuses)
    *[(f"att-{m}-{'lin' if lin else 'sqrt'}-h{h}-ntk", "ntk", [4, 3],
       transformer_like(m, lin, heads=h, b_std=0.1 if h == 2 else None))
      for m in ("softmax", "identity", "relu", "abs") for lin, h in ((True, 2), (False, 1))],
    ("att-softmax-lin-standard", "standard", [4, 3],
     transformer_like("softmax", True, heads=2, b_std=0.2, key_channels=8, value_channels=12)),
    ("att-relu-lin-2d-ntk", "ntk", [3, 3, 2], transformer_like("relu", True, heads=2)),
    ("att-softmax-flatten-ntk", "ntk", [4, 3],
     [{"dense": {"w_std": 1.0, "b_std": 0.0, "width": 16}}, attention("softmax", True)] + RELU + FLAT + READOUT),
    # transposed convolutions: each padding, 1-D and 2-D, full mode (pooling after) and diagonal mode
    ("ct-1d-k3-s2-valid-gap-ntk", "ntk", [4, 3],
     conv_like("conv_transpose", [3], stride=[2], padding="VALID") + GAP + READOUT),
    ("ct-1d-k2-s2-same-avgpool-standard", "standard", [4, 3],
     conv_like("conv_transpose", [2], stride=[2], padding="SAME", channels=16)
     + [{"avg_pool": {"window": [2]}}] + FLAT + READOUT),
    ("ct-1d-k4-s2-circular-sumpool-ntk", "ntk", [4, 3],
     conv_like("conv_transpose", [4], stride=[2], padding="CIRCULAR")
     + [{"sum_pool": {"window": [2], "stride": [1], "padding": "SAME"}}] + FLAT + READOUT),
    ("ct-2d-k3x2-s2x1-same-gap-ntk", "ntk", [3, 4, 2],
     conv_like("conv_transpose", [3, 2], stride=[2, 1], padding="SAME") + GAP + READOUT),
    ("ct-2d-k3-s2-circular-conv-standard", "standard", [3, 3, 2],
     conv_like("conv_transpose", [3, 3], stride=[2, 2], padding="CIRCULAR", channels=8)
     + conv_like("conv", [3, 3], channels=8) + GAP + READOUT),
    ("ct-2d-k2-s2-valid-flatten-ntk", "ntk", [3, 3, 2],
     conv_like("conv_transpose", [2, 2], stride=[2, 2], padding="VALID") + FLAT + READOUT),
    # locally connected
    ("cl-1d-k3-same-gap-ntk", "ntk", [5, 3], conv_like("conv_local", [3], padding="SAME") + GAP + READOUT),
    ("cl-1d-k2-s2-valid-standard", "standard", [6, 3],
     conv_like("conv_local", [2], stride=[2], padding="VALID", channels=16) + FLAT + READOUT),
    ("cl-2d-k2x3-circular-avgpool-ntk", "ntk", [4, 3, 2],
     conv_like("conv_local", [2, 3], padding="CIRCULAR") + [{"avg_pool": {"window": [2, 2]}}] + FLAT + READOUT),
    # branches: neural-tangents sums and multiplies only Gaussian paths (each ends in an affine layer, or is
    # the identity of one), and an activation needs a Gaussian input
    ("br-three-sum-ntk", "ntk", [5],
     [{"dense": {"w_std": 1.2, "b_std": 0.1}},
      {"branches": {"merge": "sum", "paths": [
          [{"dense": {"w_std": 1.1}}] + RELU + [{"dense": {"w_std": 0.9, "b_std": 0.1}}], [],
          [{"dense": {"w_std": 0.7, "b_std": 0.3}}]]}}] + RELU + READOUT),
    ("br-concat-dense-ntk", "ntk", [5],
     [{"dense": {"w_std": 1.2, "b_std": 0.1, "width": 16}},
      {"branches": {"merge": "concat", "paths": [
          [{"dense": {"w_std": 1.1, "width": 16}}] + RELU + [{"dense": {"w_std": 1.0, "width": 8}}],
          [{"dense": {"w_std": 0.7, "b_std": 0.3, "width": 24}}]]}},
      {"dense": {"w_std": 1.0, "b_std": 0.1, "width": 16}}] + RELU + READOUT),
    ("br-concat-dense-standard", "standard", [5],
     [{"dense": {"w_std": 1.2, "b_std": 0.1, "width": 16}},
      {"branches": {"merge": "concat", "paths": [
          [{"dense": {"w_std": 1.1, "width": 16}}] + RELU + [{"dense": {"w_std": 1.0, "width": 8}}],
          [{"dense": {"w_std": 0.7, "b_std": 0.3, "width": 24}}]]}},
      {"dense": {"w_std": 1.0, "b_std": 0.1, "width": 16}}] + RELU + READOUT),
    ("br-sum-standard", "standard", [5],
     [{"dense": {"w_std": 1.2, "b_std": 0.1, "width": 16}},
      {"branches": {"merge": "sum", "paths": [
          [{"dense": {"w_std": 1.1, "width": 16}}] + RELU + [{"dense": {"w_std": 1.0, "width": 16}}],
          [{"dense": {"w_std": 0.9, "width": 16}}]]}}] + RELU + READOUT),
    ("br-prod-cnn-gap-ntk", "ntk", [5, 2],
     [{"conv": {"filter": [3], "w_std": 1.3, "b_std": 0.1}},
      {"branches": {"merge": "prod", "paths": [
          [{"conv": {"filter": [3], "w_std": 1.0, "b_std": 0.2}}],
          [{"conv": {"filter": [1], "w_std": 1.1}}] + RELU + [{"conv": {"filter": [3], "w_std": 0.9}}]]}},
      {"conv": {"filter": [3], "w_std": 1.0, "b_std": 0.1}}] + RELU + GAP + READOUT),
    ("br-sum-in-repeat-ntk", "ntk", [4],
     [{"dense": {"w_std": 1.0, "b_std": 0.1}},
      {"repeat": {"repeat": 2, "layers": [
          {"branches": {"merge": "sum", "paths": [
              [{"dense": {"w_std": 0.8}}] + RELU + [{"dense": {"w_std": 0.9}}], []]}}]}}] + RELU + READOUT),
]
