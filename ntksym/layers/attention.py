"""`attention`: global multi-head self-attention over the spatial positions (a sequence is a 1-D spatial
input `[length, channels]`), with the conventions of neural-tangents' `GlobalSelfAttention` without
positional embeddings.

Finite network (inputs h(p) with C channels, heads h = 1..H, W's standard normal, always in the ntk
parameterization, as neural-tangents' attention is whatever the rest of the network uses):
    K_h(p) = h(p) W_K^h,  Q_h = K_h (linear scaling: tied) or h(p) W_Q^h,  V_h(p) = h(p) W_V^h,
    G_h(p, p') = w_q w_k <Q_h(p), K_h(p')> / (C n_key)            (linear_scaling: true)
               = w_q w_k <Q_h(p), K_h(p')> / (C sqrt(n_key))      (linear_scaling: false),
    z(p) = w_v w_o / sqrt(n_val H C) sum_h sum_p' mech(G_h)(p, p') V_h(p') W_O^h + b_std b,
mech one of softmax (over p'), identity, relu, abs.

Infinite width (Hron et al. 2020, "Infinite attention: NNGP and NTK for deep attention networks",
ICML; neural-tangents' `GlobalSelfAttention.kernel_fn`):
- linear scaling: the logits converge to the deterministic w_q w_k Sigma(x; p, p'), so each input has
  fixed attention weights A_x(p, p') = mech(w_q w_k Sigma(x; p, p')) and, with
  M[K](p, p') = sum_{a, b} A_x(p, a) K(a, b) A_x'(p', b),
      Sigma' = (w_v w_o)^2 M[Sigma] + b^2,   Theta' = (w_v w_o)^2 M[Theta + 2 Sigma] + b^2
  (the 2 Sigma: the value and output weights' own gradients);
- 1/sqrt(n_key) scaling has a closed form only for the identity mechanism: with
  S[K, L] = sum_{p, p'} K(p, p') L(p, p') over the pixel pairs of the two inputs,
      Sigma' = (w_q w_k w_v w_o)^2 S[Sigma, Sigma] Sigma + b^2,
      Theta' = (w_q w_k w_v w_o)^2 (2 S[Sigma, Theta] Sigma + S[Sigma, Sigma] (Theta + 4 Sigma)) + b^2;
  softmax, relu and abs with it are refused when the spec is loaded.
`heads` and the widths change only the finite network. Needs every pixel pair (full mode).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from ntksym.layers.base import LayerKind
from ntksym.lazy import jax, jnp, lax
from ntksym.spec.fields import Field
from ntksym.spec.schema import Count, Number

MECHANISMS = ("softmax", "identity", "relu", "abs")
SOURCE = ("Hron et al. 2020, \"Infinite attention: NNGP and NTK for deep attention networks\" (ICML); "
          "neural-tangents' GlobalSelfAttention")
_STD = Field("nonneg", 1.0, "weight standard deviation (ntk parameterization)")


@dataclass(frozen=True)
class Attention:
    kind: ClassVar[str] = "attention"
    heads: Count = 1
    mechanism: str = "softmax"
    linear_scaling: bool = True
    w_query_std: Number = 1.0
    w_key_std: Number = 1.0
    w_value_std: Number = 1.0
    w_out_std: Number = 1.0
    b_std: Number | None = None
    channels: Count | None = None
    key_channels: Count | None = None
    value_channels: Count | None = None
    path: str = field(default="", compare=False)


# -- the finite network ---------------------------------------------------------------------------------
# ("attention", heads, mechanism, linear_scaling, w_q w_k, w_v w_o, b_std or None, channels, key_channels,
#  value_channels); a width of None: the input's channels (the output's for keys and values). These
# functions are copied into generated modules (beside preludes/network.py) and registered there.


def _net_attention_shapes(shape, rec, width, stack):
    """(parameter tree of ("param", shape, 1.0) leaves, output shape): standard normal weights in either
    parameterization (the layer scales them itself, like neural-tangents)."""
    heads, c_in = rec[1], shape[-1]
    if width is not None:  # `check`'s width sweeps: every width of the layer
        out = keys = values = int(width)
    else:
        out = rec[7] or c_in
        keys, values = rec[8] or out, rec[9] or out
    tree = {"k": ("param", stack + (heads, c_in, keys), 1.0), "v": ("param", stack + (heads, c_in, values), 1.0),
            "o": ("param", stack + (heads, values, out), 1.0)}
    if not rec[3]:
        tree["q"] = ("param", stack + (heads, c_in, keys), 1.0)
    if rec[6] is not None:
        tree["b"] = ("param", stack + (out,), 1.0)
    return tree, shape[:-1] + (out,)


def _net_attention_apply(p, h, rec, parameterization):
    """Global self-attention over every pixel (the spatial axes flattened), neural-tangents' apply_fn."""
    hi = lax.Precision.HIGHEST
    n, c_in = h.shape[0], h.shape[-1]
    x = h.reshape(n, -1, c_in)
    keys = jnp.einsum("npc,hck->hnpk", x, p["k"], precision=hi)
    queries = keys if rec[3] else jnp.einsum("npc,hck->hnpk", x, p["q"], precision=hi)
    n_key = keys.shape[-1]
    norm = c_in * (n_key if rec[3] else n_key**0.5)
    logits = jnp.einsum("hnpk,hnqk->hnpq", queries, keys, precision=hi) * (rec[4] / norm)
    mechanism = rec[2]
    if mechanism == "softmax":
        weights = jax.nn.softmax(logits, axis=-1)
    elif mechanism == "relu":
        weights = jnp.maximum(logits, 0)
    elif mechanism == "abs":
        weights = jnp.abs(logits)
    else:
        weights = logits
    values = jnp.einsum("npc,hcv->hnpv", x, p["v"], precision=hi)
    mixed = jnp.einsum("hnpq,hnqv->hnpv", weights, values, precision=hi)
    heads, n_val = p["o"].shape[-3], p["o"].shape[-2]
    z = jnp.einsum("hnpv,hvo->npo", mixed, p["o"], precision=hi) * (rec[5] / (n_val * heads * c_in) ** 0.5)
    z = z.reshape(h.shape[:-1] + z.shape[-1:])
    return z + rec[6] * p["b"] if "b" in p else z


# -- the kind -----------------------------------------------------------------------------------------


class AttentionKind(LayerKind):
    key = "attention"
    doc = "global multi-head self-attention over the spatial positions (neural-tangents' GlobalSelfAttention)"
    fields = {
        "heads": Field("count", 1, "attention heads (finite network only)"),
        "mechanism": Field("choice", "softmax", "softmax, identity, relu or abs of the logits", choices=MECHANISMS),
        "linear_scaling": Field("bool", True, "true: logits scaled by 1/n_key (tied queries and keys); "
                                "false: 1/sqrt(n_key)"),
        "w_query_std": _STD,
        "w_key_std": _STD,
        "w_value_std": _STD,
        "w_out_std": _STD,
        "b_std": Field("optional_nonneg", None, "bias standard deviation; null means no bias"),
        "channels": Field("count", None, "finite network's output channels (default: the input's)"),
        "key_channels": Field("count", None, "finite network's query/key channels per head (default: channels)"),
        "value_channels": Field("count", None, "finite network's value channels per head (default: channels)"),
    }
    on_pixels = mixes_pixels = True
    network_weights = (_net_attention_shapes, _net_attention_apply)

    @property
    def kernel_helpers(self) -> str:  # type: ignore[override]  # read from preludes/attention.py on use
        from ntksym.codegen.text import prelude_source

        return prelude_source("attention")

    def build(self, values, where, error):
        if not values["linear_scaling"] and values["mechanism"] != "identity":
            raise error("linear_scaling", f"`mechanism: {values['mechanism']}` with `linear_scaling: false` "
                        "(logits scaled by 1/sqrt(n_key)) has no closed-form infinite-width kernel (only "
                        "`identity` has); use `linear_scaling: true` or `mechanism: identity`")
        return Attention(**values, path=where)

    # -- symbolic ---------------------------------------------------------------------------------
    def derive(self, layer, parameterization, derive_body):
        from ntksym.symbolic.rules.attention import attention_step

        return attention_step(layer)

    # -- codegen ----------------------------------------------------------------------------------
    def emit(self, step, writer, indent):
        from ntksym.symbolic.rules.attention import S_QQ, S_QT
        from ntksym.symbolic.state import q11, q12, t12

        k = writer.new_index()
        doc = f"{step.path}: {step.label}"
        if step.linear_scaling:
            writer.function(f"_logits_{k}", (q11,), [step.logits], doc + ", the logits")
            writer.function(f"_affine_{k}", (q12, t12), [step.nngp, step.ntk], doc + ", after the mixing")
            logits = f"_logits_{k}"
        else:
            writer.function(f"_affine_{k}", (q12, t12, S_QQ, S_QT), [step.nngp, step.ntk], doc)
            logits = "None"
        width = "" if step.width is None else f", width={writer.value(step.width)}"
        return [f"{indent}s = _attention(s, {logits}, _affine_{k}, hp, {step.mechanism!r}, "
                f"{bool(step.linear_scaling)!r}{width})  # {writer.comment(step)}"]

    # -- finite network -----------------------------------------------------------------------------
    def record(self, layer, hp, lower):
        def count(value, name):
            return None if value is None else lower.count(value, f"{layer.path}.{name}")

        b_std = None if layer.b_std is None else lower.number(layer.b_std)
        return ("attention", count(layer.heads, "heads"), layer.mechanism, bool(layer.linear_scaling),
                lower.number(layer.w_query_std) * lower.number(layer.w_key_std),
                lower.number(layer.w_value_std) * lower.number(layer.w_out_std), b_std,
                count(layer.channels, "channels"), count(layer.key_channels, "key_channels"),
                count(layer.value_channels, "value_channels"))

    def with_width(self, layer, width, is_output):
        width = int(width)
        return dataclasses.replace(layer, channels=width, key_channels=width, value_channels=width)

    # -- reports ----------------------------------------------------------------------------------
    def describe(self, layer, describe_body):
        scaling = "" if layer.linear_scaling else ", 1/sqrt scaling"
        return f"attention({layer.mechanism}, heads={layer.heads}{scaling})"

    def weights(self, layer, width, weights_body):
        heads = layer.heads if isinstance(layer.heads, int) else 1
        return (3 if layer.linear_scaling else 4) * heads * width * width

    def text(self, step, indent):
        from ntksym.reports.readable import readable

        pad = indent + "    "
        if step.linear_scaling:
            weights = _weights_text(step)
            return [f"{pad}A_x(p, p') = {weights}  (per input, from its own q11(p, p'))",
                    f"{pad}M[K](p, p') = sum_(a, b) A_x(p, a) K(a, b) A_x'(p', b)",
                    f"{pad}q12' = {readable(step.nngp.subs(_mixed_names()))}",
                    f"{pad}t12' = {readable(step.ntk.subs(_mixed_names()))}",
                    f"{pad}[{SOURCE}, linear scaling]"]
        return [f"{pad}S[K, L] = sum_(p, p') K(p, p') L(p, p') over the pixel pairs;  "
                "s_qq = S[q12, q12], s_qt = S[q12, t12]",
                f"{pad}q12' = {readable(step.nngp)}",
                f"{pad}t12' = {readable(step.ntk)}",
                f"{pad}[{SOURCE}, 1/sqrt(n_key) scaling]"]

    def latex(self, step):
        from ntksym.reports.readable import latex_expression

        if step.linear_scaling:
            import sympy as sp

            from ntksym.symbolic.state import q12, t12

            subs = {q12: sp.Symbol("M[q_{12}]"), t12: sp.Symbol("M[t_{12}]")}
            return [rf"A_x(p, p') &= {_weights_latex(step)} \\",
                    r"M[K](p, p') &= \sum_{a, b} A_x(p, a) K(a, b) A_{x'}(p', b) \\",
                    rf"q_{{12}}' &= {latex_expression(step.nngp.subs(subs))} \\",
                    rf"t_{{12}}' &= {latex_expression(step.ntk.subs(subs))} \\",
                    r"&\text{(Hron et al. 2020; neural-tangents' GlobalSelfAttention, linear scaling)}\\"]
        return [r"s_{qq} &= \sum_{p, p'} q_{12}(p, p')^2, \quad s_{qt} = \sum_{p, p'} q_{12}(p, p') t_{12}(p, p') \\",
                rf"q_{{12}}' &= {latex_expression(step.nngp)} \\",
                rf"t_{{12}}' &= {latex_expression(step.ntk)} \\",
                r"&\text{(Hron et al. 2020; neural-tangents' GlobalSelfAttention, $1/\sqrt{n_{key}}$ scaling)}\\"]

    def summary(self, step):
        from ntksym.reports.readable import readable

        out = {"mechanism": step.mechanism, "linear_scaling": bool(step.linear_scaling), "source": SOURCE}
        if step.linear_scaling:
            out["weights"] = _weights_text(step)
            out["nngp"] = str(readable(step.nngp.subs(_mixed_names())))
            out["ntk"] = str(readable(step.ntk.subs(_mixed_names())))
        else:
            out["nngp"], out["ntk"] = str(readable(step.nngp)), str(readable(step.ntk))
        return out


def _mixed_names():
    """q12, t12 of a linear-scaling step are the mixed M[q12], M[t12]: named so in the reports."""
    import sympy as sp

    from ntksym.symbolic.state import q12, t12

    return {q12: sp.Symbol("M[q12]"), t12: sp.Symbol("M[t12]")}


def _weights_text(step) -> str:
    import sympy as sp

    from ntksym.symbolic.state import q11

    logit = str(step.logits.subs(q11, sp.Symbol("q11(p, p')")))
    return {"softmax": f"softmax_(p')({logit})", "identity": logit, "relu": f"max({logit}, 0)",
            "abs": f"|{logit}|"}[step.mechanism]


def _weights_latex(step) -> str:
    import sympy as sp

    from ntksym.symbolic.state import q11

    logit = sp.latex(step.logits.subs(q11, sp.Symbol("q_{11}(p, p')")))
    return {"softmax": rf"\operatorname{{softmax}}_{{p'}}\left({logit}\right)", "identity": logit,
            "relu": rf"\max\left({logit}, 0\right)", "abs": rf"\left|{logit}\right|"}[step.mechanism]


KIND = AttentionKind()
