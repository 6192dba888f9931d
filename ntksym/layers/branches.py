"""`branches`: the input through every path, the outputs merged (neural-tangents' FanOut + FanInSum /
FanInConcat / FanInProd).

Kernels. Paths with their own weights are independent given the input (the cross-covariances of two
paths vanish: each path's first weight matrix is zero-mean and independent of the rest), so
- sum:    the kernels add, q12' = sum_i q12_i, t12' = sum_i t12_i (`residual` is the two-path case
          x + scale * block(x));
- concat: along channels, each channel belongs to one path: q12' = sum_i c_i q12_i / sum_i c_i (t12' alike),
          c_i path i's output channels (its last width / channels, or the input's for a path without
          weights); the next fan-in is sum_i c_i;
- prod:   elementwise, a product of independent Gaussian processes: q12' = prod_i q12_i,
          t12' = sum_i t12_i prod_{j != i} q12_j (product rule; Yang 2019, Tensor Programs, for such
          multiplicative nonlinearities; the covariances at the same input, q11 and t11, alike).
A nonlinearity right after a concat or prod would see a mixture (concat) or a non-Gaussian product (prod),
for which its dual is not the kernel; `spatial_plan` refuses it until the next weight layer.
On spatial states every merge acts pixel pair by pixel pair (full mode) or per pixel (diagonal mode); all
paths must end on the same spatial shape. The fully-connected state carries the correlation gap
g12 = sqrt(q11 q22) - q12 (symbolic/gap.py): the merges compute it without cancellation.
Finite network: ("branches", merge, paths) records (codegen/preludes/network.py).
"""

from __future__ import annotations

import dataclasses

from ntksym.layers.base import LayerKind
from ntksym.spec import schema as s
from ntksym.spec.fields import REQUIRED, Field

MERGES = ("sum", "concat", "prod")

KERNEL_HELPERS = '''
def _branch_sum(states, weights, fan_in):
    """sum_i w_i K_i over independent paths (`weights` w_i: 1 for sum, c_i / sum c for concat).

    The gap without cancellation (Lagrange's identity; `_residual_sum` is the two-path case), with
    a_i = q11_i, b_i = q22_i, A = sum w_i a_i, B = sum w_i b_i, S = sum w_i sqrt(a_i b_i):
    g = sum_i w_i g_i + sqrt(A B) - S, and sqrt(A B) - S = sum_{i<j} w_i w_j (sqrt(a_i b_j) - sqrt(a_j b_i))^2
    / (sqrt(A B) + S), each square written as (a_i b_j - a_j b_i)^2 / (sqrt(a_i b_j) + sqrt(a_j b_i))^2."""
    def total(parts):
        return sum(w * a for w, a in zip(weights, parts))

    if states[0].gap is None:
        return _State(*(total([st[k] for st in states]) for k in range(6)), fan_in)
    q11, t11, q22, t22 = (total([st[k] for st in states]) for k in range(4))
    t12 = total([st.t12 for st in states])
    a = [st.q11[:, None] for st in states]
    b = [st.q22[None, :] for st in states]
    outer = _root_product(q11[:, None], q22[None, :]) + total([_root_product(ai, bi) for ai, bi in zip(a, b)])
    gap = total([st.gap for st in states])
    for i in range(len(states)):
        for j in range(i + 1, len(states)):
            cross_ij, cross_ji = a[i] * b[j], a[j] * b[i]
            gap = gap + weights[i] * weights[j] * _safe_div(
                (cross_ij - cross_ji) ** 2, (_clamped_sqrt(cross_ij) + _clamped_sqrt(cross_ji)) ** 2 * outer)
    return _State(q11, t11, q22, t22, None, t12, fan_in, jnp.broadcast_to(gap, states[0].gap.shape))


def _branch_concat(states):
    """Channels concatenated: the paths' kernels weighted by their channel counts (each state's fan_in);
    the next fan_in is their sum."""
    fan_in = sum(st.fan_in for st in states)
    return _branch_sum(states, [st.fan_in / fan_in for st in states], fan_in)


def _branch_prod(states, fan_in):
    """Elementwise product of independent paths: q = prod_i q_i, t = sum_i t_i prod_{j != i} q_j.

    The gap prod_i r_i - prod_i q_i (r_i = sqrt(q11_i q22_i)) as sum_i (prod_{j<i} q_j) g_i (prod_{j>i} r_j):
    no cancellation while the correlations are positive."""
    def product(pairs):
        q, t = 1.0, 0.0
        for qi, ti in pairs:
            q, t = q * qi, t * qi + q * ti
        return q, t

    covariances = [_covariances(st) for st in states]
    q11, t11 = product([(c[0], c[1]) for c in covariances])
    q22, t22 = product([(c[2], c[3]) for c in covariances])
    q12, t12 = product([(c[4], c[5]) for c in covariances])
    if states[0].gap is None:
        return _State(q11, t11, q22, t22, q12, t12, fan_in)
    roots = [_root_product(c[0][:, None], c[2][None, :]) for c in covariances]
    gap, left = 0.0, 1.0
    for i, st in enumerate(states):
        right = 1.0
        for r in roots[i + 1:]:
            right = right * r
        gap, left = gap + left * st.gap * right, left * covariances[i][4]
    gap = jnp.broadcast_to(jnp.maximum(gap, 0), states[0].gap.shape)
    return _State(q11, t11, q22, t22, None, t12, fan_in, gap)
'''


class BranchesKind(LayerKind):
    key = "branches"
    doc = "the input through every path, merged by sum, concat (channels) or prod (elementwise)"
    fields = {"merge": Field("choice", REQUIRED, "sum | concat | prod", choices=MERGES),
              "paths": Field("paths", REQUIRED, "a list of layer lists; [] is the identity")}
    combinator = True
    kernel_helpers = KERNEL_HELPERS

    def build(self, values, where, error):
        return s.Branches(values["merge"], tuple(values["paths"]), path=where)

    def children(self, layer):
        return tuple(child for path in layer.paths for child in path)

    def replace_children(self, layer, children):
        children, paths, start = tuple(children), [], 0
        for path in layer.paths:
            paths.append(children[start:start + len(path)])
            start += len(path)
        return dataclasses.replace(layer, paths=tuple(paths))

    # -- symbolic -------------------------------------------------------------------------------
    def derive(self, layer, parameterization, derive_body):
        from ntksym.symbolic.steps import BranchesStep

        paths = tuple(derive_body(path) if path else () for path in layer.paths)
        found = [path_channels(path) for path in paths]
        # after a sum or prod the state keeps the fan-in of a path that sets one (else of one without weights)
        fan_path = next((i for i, (weights, c) in enumerate(found) if weights and c is not None),
                        next((i for i, (weights, _) in enumerate(found) if not weights), 0))
        return BranchesStep(layer.path, layer.merge, paths, tuple(c for _, c in found), fan_path)

    def walk_shape(self, step, state, walker):
        """Every path from the same state; they must end on the same spatial shape (and, for sum and prod,
        on the same channels); concat needs every path's channel count (its weight)."""
        from ntksym.errors import DerivationError

        outs = [walker.walk(path, state) for path in step.paths]
        if len({out.dims for out in outs}) > 1:
            shapes = ", ".join(f"paths[{i}]: {walker.describe(out)}" for i, out in enumerate(outs))
            raise DerivationError(
                f"{step.path}: the paths end on different shapes ({shapes}), so their outputs cannot be merged "
                "pixel by pixel; give every path the same strides and pooling (conv padding SAME keeps the shape)")
        merged = next((out.merged for out in outs if out.merged), "")
        if step.merge == "concat":
            for i, out in enumerate(outs):
                if not out.fan_known:
                    raise DerivationError(
                        f"{step.path}.paths[{i}]: `concat` weights each path by its channel count, but this path's "
                        "is unknown; give the path's last dense layer a `width` (conv: `channels`), or the layer "
                        "before the branches one if the path has no weights")
            known = [out.channels for out in outs]
            channels = sum(known) if all(c is not None for c in known) else None
            return dataclasses.replace(outs[0], fan_known=True, channels=channels,
                                       merged=step.path if len(outs) > 1 else merged)
        numbers = sorted({int(out.channels) for out in outs if out.channels is not None and out.channels.is_number})
        if len(numbers) > 1:
            raise DerivationError(
                f"{step.path}: `{step.merge}` needs the same number of channels from every path, got "
                f"{', '.join(map(str, numbers))}; give the paths' last dense layers the same `width` (conv: "
                "`channels`), equal to the input's for a path without weights, or merge with `concat`")
        out = outs[step.fan_path]
        channels = next((o.channels for o in outs if o.channels is not None), None)
        if step.merge == "prod" and len(outs) > 1:
            merged = step.path
        return dataclasses.replace(out, channels=channels, merged=merged)

    # -- codegen --------------------------------------------------------------------------------
    def emit(self, step, writer, indent):
        from ntksym.codegen.text import comment_text

        k = writer.new_index()
        entry = f"_branch_in_{k}"
        lines = [f"{indent}{entry} = s  # {comment_text(step.path)}: branches, merge {step.merge}"]
        spatial_now = getattr(writer, "spatial_now", None)  # each path starts where the branches layer does
        names = []
        for i, path in enumerate(step.paths):
            if not path:
                names.append(entry)
                continue
            if spatial_now is not None:
                writer.spatial_now = spatial_now
            lines.append(f"{indent}s = {entry}")
            lines.extend(writer.steps(path, indent))
            names.append(f"_path_{k}_{i}")
            lines.append(f"{indent}{names[-1]} = s")
        states = f"({', '.join(names)},)"
        if step.merge == "concat":
            merge = f"_branch_concat({states})"
        elif step.merge == "sum":
            merge = f"_branch_sum({states}, {(1.0,) * len(names)!r}, {names[step.fan_path]}.fan_in)"
        else:
            merge = f"_branch_prod({states}, {names[step.fan_path]}.fan_in)"
        return lines + [f"{indent}s = {merge}"]

    # -- reports ----------------------------------------------------------------------------------
    def report_text(self, step, lines, indent, body):
        n = len(step.paths)
        lines.append(f"{indent}{step.path}: branches, merge {step.merge}: the input through {n} independent "
                     f"path{'s' if n != 1 else ''}:")
        for i, path in enumerate(step.paths):
            lines.append(f"{indent}  path {i}:" + ("" if path else " identity (q12_0 = q12, t12_0 = t12)"))
            body(path, indent + "    ")
        lines.extend(f"{indent}  {line}" for line in _merge_text(step))

    def report_latex(self, step, out, body):
        out.append(rf"&\text{{branches, merge {step.merge}, {len(step.paths)} paths:}}\\")
        for i, path in enumerate(step.paths):
            out.append(rf"&\text{{path {i}{': identity' if not path else ''}}}\\")
            body(path)
        if step.merge == "sum":
            out += [r"q_{12}' &= \sum_i q_{12}^{(i)}, \quad t_{12}' = \sum_i t_{12}^{(i)}\\"]
        elif step.merge == "concat":
            out += [r"q_{12}' &= \frac{\sum_i c_i\, q_{12}^{(i)}}{\sum_i c_i}, \quad "
                    r"t_{12}' = \frac{\sum_i c_i\, t_{12}^{(i)}}{\sum_i c_i} \quad \text{(} c_i "
                    r"\text{ channels of path } i\text{)}\\"]
        else:
            out += [r"q_{12}' &= \prod_i q_{12}^{(i)}, \quad t_{12}' = \sum_i t_{12}^{(i)} \prod_{j \ne i} "
                    r"q_{12}^{(j)}\\"]

    def summary(self, step):
        return {"merge": step.merge, "path_lengths": [len(path) for path in step.paths],
                "channels": [None if c is None else str(c) for c in step.channels]}

    # -- finite network ---------------------------------------------------------------------------
    def record(self, layer, hp, lower):
        return ("branches", layer.merge, tuple(lower(path) for path in layer.paths))

    def describe(self, layer, describe_body):
        paths = " | ".join(f"[{describe_body(path)}]" if path else "[]" for path in layer.paths)
        return f"{layer.merge}({paths})"

    def weights(self, layer, width, weights_body):
        return sum(weights_body(path) for path in layer.paths)

    def kernel_depends_on_widths(self, layer) -> bool:
        return layer.merge == "concat"


def _merge_text(step) -> list[str]:
    if step.merge == "sum":
        return ["q12' = sum_i q12_i,  t12' = sum_i t12_i   (independent paths: the kernels add)"]
    if step.merge == "prod":
        return ["q12' = prod_i q12_i,  t12' = sum_i t12_i prod_(j != i) q12_j   (product of independent GPs; "
                "q11', t11' alike)"]
    weights = ", ".join("C_in" if c is None else str(c) for c in step.channels)
    return ["q12' = sum_i c_i q12_i / sum_i c_i,  t12' = sum_i c_i t12_i / sum_i c_i   (channels concatenated)",
            f"c = ({weights}) (each path's output channels; C_in: the input's);  fan_in' = sum_i c_i"]


def path_channels(steps) -> tuple[bool, object]:
    """(whether the path has weights, its output channels where the spec fixes them, else None)."""
    for step in reversed(steps):
        kind = LayerKind.registry[step.kind]
        if kind.has_weights:
            return True, step.width
        if step.kind == "flatten":  # pixels * channels: the fan-in is set, its value shown symbolically only
            return True, None
        if step.kind == "branches":
            found = [path_channels(path) for path in step.paths]
            if not any(weights for weights, _ in found):
                continue
            if step.merge == "concat":
                known = [c for _, c in found]
                return True, (sum(known) if all(c is not None for c in known) else None)  # type: ignore[arg-type]
            return found[step.fan_path]
        if kind.combinator:  # repeat, residual: the block's last weights, if it has any
            weights, channels = path_channels(step.body)
            if weights:
                return weights, channels
    return False, None


KIND = BranchesKind()
