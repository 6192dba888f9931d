"""A compiled spec: its generated module plus checked, convenient entry points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ntksym.errors import InputError, NumericalError
from ntksym.runtime.data import check_inputs, check_pair
from ntksym.runtime.schedule import evaluate
from ntksym.spec.schema import Spec

if TYPE_CHECKING:
    import jax

    from ntksym.runtime.tiled import Progress


def unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(distinct rows in first-seen order, index of each row among them), or (x, None) without repeats."""
    flat = np.ascontiguousarray(x.reshape(len(x), -1))
    _, first, inverse = np.unique(flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel(),
                                  return_index=True, return_inverse=True)
    if len(first) == len(x):
        return x, None
    order = np.argsort(first)  # keep the first-seen order so tiles stay as the caller laid them out
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return x[first[order]], rank[inverse.ravel()]


def expand(k: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None) -> np.ndarray:
    if rows is not None:
        k = k[rows]
    return k if cols is None else k[:, cols]


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

    def kernel(self, x1: ArrayLike, x2: ArrayLike | None = None, *, tile_size: int | None = None,
               progress: Progress | None = None, out: str | Path | Sequence[np.ndarray] | None = None,
               devices: Sequence[jax.Device] | None = None, **hyperparameters: float) -> Kernel:
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
            return self.module.kernel_with_diagonals(p, q, **hyperparameters)

        # identical inputs get identical rows and columns (not a cross formula at correlation 1, where
        # rounding is amplified to sqrt(eps) and a Gram matrix of repeated inputs loses its PSD-ness)
        a, rows = unique_rows(a) if out is None else (a, None)
        b, cols = (None, None) if b is None else (unique_rows(b) if out is None else (b, None))
        nngp, ntk, finite = evaluate(pair, a, b, self.dtype, tile_size=tile_size, progress=progress, out=out,
                                     devices=devices, floats_per_pair=self.module.FLOATS_PER_PAIR)
        if finite and (rows is not None or cols is not None):
            cols = rows if b is None else cols
            assert nngp is not None and ntk is not None  # finite: evaluate returned both
            nngp, ntk = (expand(k, rows, cols) for k in (nngp, ntk))
        if not finite:
            raise NumericalError(
                f"the kernel of `{self.spec.name}` overflowed or became NaN in {self.dtype}; "
                + ("retry with dtype float64 (--x64), or use a smaller w_std or fewer layers" if self.dtype == "float32"
                   else "the kernel itself diverges here (e.g. exp activations at large variance, w_std too large "
                   "for the depth): use a smaller w_std or fewer layers"))
        assert nngp is not None and ntk is not None  # finite: evaluate returned both
        return Kernel(nngp, ntk)
