"""`flatten`: (n, pixels..., C) -> (n, P C), the "FC readout" of Novak et al. 2019 (eq. 8).

Kernel: a dense layer after it sees 1/P sum_p Sigma(p, p), so flatten maps the state to that mean of
the pixel diagonal, and fan_in' = P C. Needs only the pixel diagonal (diagonal mode, unless another
layer mixes pixels).
"""

from __future__ import annotations

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s


class FlattenKind(LayerKind):
    key = "flatten"
    doc = "concatenate the spatial positions' features"
    on_pixels = ends_spatial = True

    def build(self, values, where, error):
        return s.Flatten(path=where)

    def derive(self, layer, parameterization, derive_body):
        from ntksym.symbolic.steps import SpatialStep

        return SpatialStep(layer.path, self.key, self.key)

    def spatial_shape(self, step, dims):
        return None

    def emit(self, step, writer, indent):
        return [f"{indent}s = _flatten(s, {writer.full})  # {writer.comment(step)}"]

    def text(self, step, indent):
        return [f"{indent}    q12' = 1/P sum_p q12(p, p) over the P pixels;  t12' likewise; "
                "fan_in' = P C (fully connected from here)"]

    def latex(self, step):
        return [r"q_{12}' &= \frac{1}{P} \sum_{p} q_{12}(p, p) \\"]


KIND = FlattenKind()
