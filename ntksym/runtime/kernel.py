"""A compiled spec: its generated module plus checked, convenient entry points."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ntksym.errors import InputError, NumericalError
from ntksym.runtime.data import check_inputs, check_pair
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

    def kernel(self, x1, x2=None, **hyperparameters) -> Kernel:
        """Kernels of the infinite network between x1 (n1, ...) and x2 (n2, ...); x2=None means x1."""
        unknown = set(hyperparameters) - set(self.hyperparameters)
        if unknown:
            raise InputError(f"unknown hyperparameters {sorted(unknown)}; the spec defines {sorted(self.hyperparameters)}")
        a = check_inputs(x1, self.spec, "x1")
        b = None if x2 is None else check_inputs(x2, self.spec, "x2")
        check_pair(a, b)
        nngp, ntk = self.module.kernel(a, b, **hyperparameters)
        result = Kernel(np.asarray(nngp), np.asarray(ntk))
        if not (np.all(np.isfinite(result.nngp)) and np.all(np.isfinite(result.ntk))):
            raise NumericalError(
                f"the kernel of `{self.spec.name}` overflowed or became NaN in {self.dtype}; "
                + ("retry with dtype float64 (--x64)" if self.dtype == "float32" else "use a smaller w_std or fewer layers"))
        return result
