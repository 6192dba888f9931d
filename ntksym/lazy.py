"""jax, and the network prelude's helpers, for the layer modules: each imported at its first use.

A layer module holds the finite-network functions of its kind: ntksym.runtime.network runs them, and
generated modules carry their text, where these names are the real jax modules and the prelude's own
functions. The spec and derivation stages import every layer module but run none of those functions, so
`ntksym validate`, `ntksym derive` and `ntksym schema` never import jax (about 1.3 s of each command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class LazyModule:
    """A module imported when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute in ("_name", "_module"):  # copy, pickle and inspect probe
            raise AttributeError(attribute)  # dunders, and an instance made without __init__ has no fields
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported at first use>"


if TYPE_CHECKING:
    import jax
    import jax.numpy as jnp
    from jax import lax
else:
    jax = LazyModule("jax")
    jnp = LazyModule("jax.numpy")
    lax = LazyModule("jax.lax")

_network = LazyModule("ntksym.codegen.preludes.network")


def _net_check_rank(shape: Any, window: Any, what: str) -> None:
    _network._net_check_rank(shape, window, what)


def _net_out_dims(dims: Any, window: Any, stride: Any, padding: str) -> tuple[int, ...]:
    return _network._net_out_dims(dims, window, stride, padding)


def _net_pad(h: Any, window: Any, stride: Any, padding: str) -> Any:
    return _network._net_pad(h, window, stride, padding)


def _net_taps(h: Any, window: Any, stride: Any, padding: str) -> list:
    return _network._net_taps(h, window, stride, padding)
