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
from ntksym.runtime.data import check_hyperparameter_values, check_inputs, check_pair, check_range
from ntksym.runtime.tiling.schedule import evaluate
from ntksym.spec.schema import Spec

if TYPE_CHECKING:
    import jax

    from ntksym.runtime.tiling.evaluate import Progress


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
               devices: Sequence[jax.Device] | None = None, resume: bool = False,
               process: tuple[int, int] | None = None, **hyperparameters: float) -> Kernel:
        """Kernels of the infinite network between x1 (n1, ...) and x2 (n2, ...); x2=None means x1.

        Large kernels are computed in square tiles of `tile_size` rows (default: chosen from the free
        memory; also $NTKSYM_TILE_SIZE), and only on and above the diagonal when x2 is None. `out`: a
        folder that receives `nngp.npy` and `ntk.npy` tile by tile (for kernels larger than memory; the
        result then holds read-only memmaps), or a pair of writable (n1, n2) arrays. `progress(done,
        total)` is called after each tile. With several devices (default: all local ones) tiles are
        sharded across them. Hyperparameters are keyword arguments and do not recompile.

        `resume=True` (with a folder `out`): the folder records finished tiles (runtime/tiling/resumable.py), so
        a run cut off is finished by the same call again, and several processes can fill one folder, each
        taking every count-th tile for `process=(index, count)` (default: jax's processes after
        `jax.distributed.initialize`). Until every tile is done the result's kernels are None.
        """
        check_hyperparameter_values(hyperparameters, self.spec, self.dtype)
        a = check_inputs(x1, self.spec, "x1")
        b = None if x2 is None else check_inputs(x2, self.spec, "x2")
        check_pair(a, b)
        for x, name in ((a, "x1"), (b, "x2")):
            if x is not None:
                check_range(x, self.dtype, name)

        def pair(p, q):
            return self.module.kernel_with_diagonals(p, q, **hyperparameters)

        # identical inputs get identical rows and columns (not a cross formula at correlation 1, where
        # rounding is amplified to sqrt(eps) and a Gram matrix of repeated inputs loses its PSD-ness)
        a, rows = unique_rows(a) if out is None else (a, None)
        b, cols = (None, None) if b is None else (unique_rows(b) if out is None else (b, None))
        job = None
        if resume or process is not None:
            if out is None or isinstance(out, (tuple, list)):
                raise InputError("resume / process need a folder for out, where the finished tiles are recorded")
            job = _job_identity(self, a, b, hyperparameters)
            if process is not None and not (0 <= process[0] < process[1]):
                raise InputError(f"process must be (index, count) with 0 <= index < count, got {process}")
        with np.errstate(over="ignore", invalid="ignore"):  # constants cast to float32: an overflow is reported below
            nngp, ntk, finite = evaluate(pair, a, b, self.dtype, tile_size=tile_size, progress=progress, out=out,
                                         devices=devices, floats_per_pair=self.module.FLOATS_PER_PAIR,
                                         resume=job, process=None if process is None else (process[0], process[1]))
        if finite and nngp is None:  # other processes' tiles are still missing
            return Kernel(None, None)  # type: ignore[arg-type]  # documented: None until every tile is done
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


def _job_identity(model: CompiledModel, a: np.ndarray, b: np.ndarray | None, hyperparameters: dict) -> str:
    """What a resumable output folder holds: the spec, dtype, hyperparameters and both inputs, hashed."""
    import hashlib

    digest = hashlib.sha256()
    values = dict(model.hyperparameters) | {k: float(v) for k, v in hyperparameters.items()}
    digest.update(f"{model.spec.sha256}:{model.dtype}:{sorted(values.items())}".encode())
    for x in (a, b):
        if x is not None:
            x = np.ascontiguousarray(x, model.dtype)
            digest.update(f"{x.shape}".encode())
            digest.update(x.tobytes())
    return digest.hexdigest()

