"""The finite network's part of a generated module: ARCHITECTURE, the activations, init/apply/empirical_ntk.

The layers are interpreted by `preludes/network.py` (copied in verbatim); this file emits only the
architecture literal (numbers, None, booleans: `repr` of validated values) and each activation as a small
`def _phi_k(x)` printed by KernelPrinter from its SymPy form.
"""

from __future__ import annotations

import inspect

from ntksym.codegen.architecture import build_architecture
from ntksym.codegen.printer import KernelPrinter
from ntksym.errors import DerivationError
from ntksym.layers import LAYERS
from ntksym.spec.schema import Spec

API = '''
def init(key, width=None, input_shape=None):
    """Parameters of the finite network (a list per layer): hidden dense layers get `width` (default:
    the spec's, else 512), the output layer keeps its own. `input_shape` is needed when the spec has none."""
    shape = INPUT_SHAPE if input_shape is None else tuple(input_shape)
    if shape is None:
        raise ValueError("the spec has no input_shape: call init(key, width, input_shape=(features,))")
    params = _net_init(key, ARCHITECTURE, shape, PARAMETERIZATION, width)[0]
    return jax.tree_util.tree_map(lambda a: a.astype(DTYPE), params)


def apply(params, x):
    """The network's outputs (n, k) for inputs x of shape (n, ...)."""
    return _net_apply_jit(params, jnp.asarray(x, DTYPE), ARCHITECTURE, _ACTIVATIONS, PARAMETERIZATION)


def empirical_ntk(params, x1, x2=None):
    """(1/k) sum_o J_o(x1) J_o(x2)^T; x2=None means x1. Layer by layer (dense and conv layers, pooling)
    without materialising the Jacobian."""
    x2 = None if x2 is None else jnp.asarray(x2, DTYPE)
    return _net_empirical_ntk_jit(params, jnp.asarray(x1, DTYPE), x2, ARCHITECTURE, _ACTIVATIONS,
                                  PARAMETERIZATION)
'''.strip()

UNSUPPORTED = """
def _no_network(*args, **kwargs):
    raise NotImplementedError({message!r})


init = apply = empirical_ntk = _no_network
""".strip()


def network_parts(spec: Spec, printer: KernelPrinter, prelude: str) -> list[str]:
    """Module sections for the finite network, or stubs that say why there is none."""
    try:
        arch = build_architecture(spec)
    except DerivationError as exc:
        return [UNSUPPORTED.format(message=f"no finite network for this spec: {exc}")]
    phis = [
        f"def _phi_{k}(x):\n    return {printer.doprint(expr)}" for k, expr in enumerate(arch.activations)
    ]
    names = "".join(f"_phi_{k}, " for k in range(len(phis)))
    return [
        f"# the finite network: {_records_comment()}\nARCHITECTURE = {arch.records!r}",
        *phis,
        f"_ACTIVATIONS = ({names})",
        prelude,
        *_layer_functions(arch.records),
        API,
    ]


def _layer_functions(records) -> list[str]:
    """The finite-network functions of the kinds defined in their own module, and their registration."""
    out = []
    for key in sorted(_record_kinds(records)):
        kind = LAYERS.get(key)
        if kind is None:
            continue
        for functions, registry in ((kind.network_functions, "_NET_LAYERS"), (kind.network_weights, "_NET_WEIGHTED")):
            if functions:
                shape_fn, apply_fn = functions
                out += [inspect.getsource(shape_fn).strip(), inspect.getsource(apply_fn).strip(),
                        f"{registry}[{key!r}] = ({kind.on_pixels!r}, {shape_fn.__name__}, {apply_fn.__name__})"]
    return out


def _record_kinds(records) -> set[str]:
    kinds = set()
    for rec in records:
        kinds.add(rec[0])
        if rec[0] in ("repeat", "residual"):
            kinds |= _record_kinds(rec[2])
        elif rec[0] == "branches":
            for path in rec[2]:
                kinds |= _record_kinds(path)
    return kinds


def _records_comment() -> str:
    return (
        "(dense, w_std, b_std, width, is_output), (act, k), (layer_norm,), (repeat, n, body), "
        "(residual, s, body), (conv, w_std, b_std, channels, filter, stride, padding), "
        "(avg_pool, window, stride, padding), (global_avg_pool,), (flatten,), (branches, merge, paths)"
    )
