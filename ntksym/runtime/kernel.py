"""A compiled spec: its generated module plus checked, convenient entry points."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ntksym.errors import InputError, NumericalError
from ntksym.runtime.data import check_inputs, check_pair
from ntksym.runtime.schedule import evaluate
from ntksym.spec.schema import Spec


@dataclass(frozen=True)
class Kernel:
    """NNGP and NTK matrices, each of shape (n1, n2)."""

    nngp: np.ndarray
    ntk: np.ndarray


@dataclass(frozen=True)
class CompiledModel:
    """What `ntksym.compile` returns. `module` is the generated module (plain jax functions)."""

    spec: Spec
    module: ModuleType
    dtype: str
    source_path: Path

    @property
    def hyperparameters(self) -> dict[str, float]:
        return dict(self.module.HYPERPARAMETERS)

    def kernel(self, x1, x2=None, *, tile_size: int | None = None, progress=None, out=None, devices=None,
               **hyperparameters) -> Kernel:
        """Kernels of the infinite network between x1 (n1, ...) and x2 (n2, ...); x2=None means x1.

        Large kernels are computed in square tiles of `tile_size` rows (default: chosen from the free
        memory; also $NTKSYM_TILE_SIZE), and only on and above the diagonal when x2 is None. `out`: a
        folder that receives `nngp.npy` and `ntk.npy` tile by tile (for kernels larger than memory; the
        result then holds read-only memmaps), or a pair of writable (n1, n2) arrays. `progress(done,
        total)` is called after each tile. With several devices (default: all local ones) tiles are
        sharded across them. Hyperparameters are keyword arguments and do not recompile.
        """
        unknown = set(hyperparameters) - set(self.hyperparameters)
        if unknown:
            raise InputError(f"unknown hyperparameters {sorted(unknown)}; the spec defines {sorted(self.hyperparameters)}")
        a = check_inputs(x1, self.spec, "x1")
        b = None if x2 is None else check_inputs(x2, self.spec, "x2")
        check_pair(a, b)

        def pair(p, q):
            return self.module.kernel(p, q, **hyperparameters)

        nngp, ntk, finite = evaluate(pair, a, b, self.dtype, tile_size=tile_size, progress=progress, out=out,
                                     devices=devices)
        if not finite:
            raise NumericalError(
                f"the kernel of `{self.spec.name}` overflowed or became NaN in {self.dtype}; "
                + ("retry with dtype float64 (--x64)" if self.dtype == "float32" else "use a smaller w_std or fewer layers"))
        return Kernel(nngp, ntk)
