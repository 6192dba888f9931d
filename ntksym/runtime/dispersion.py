"""NTK dispersion at initialisation: how random a finite network's NTK is, over the seeds of its weights.

At finite width the empirical NTK Theta(x, x') is a random variable. Its normalised second moment
E[Theta^2] / E[Theta]^2 is 1 in the infinite-width limit; for ReLU networks without bias at w_std^2 = 2,
Hanin & Nica (2020, "Finite depth and width corrections to the neural tangent kernel", ICLR) show it grows
like exp(5 beta), beta = sum over hidden layers of 1 / width, so depth and width enter through their ratio.
Seleznova & Kutyniok (2022, "Neural tangent kernel beyond the infinite-width limit: effects of depth and
initialization") find the same growth at the edge of chaos and in the chaotic phase of smooth activations,
and a dispersion that stays small in the ordered phase.

`ntk_dispersion` sweeps depth (a spec's repeat count given as a hyperparameter) and width together; the
seeds of one point are vmapped in chunks (one compiled program per point).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ntksym.codegen.preludes import network as P
from ntksym.errors import InputError
from ntksym.runtime.data import check_inputs
from ntksym.runtime.empirical import empirical_ntk, has_fast_path
from ntksym.runtime.network import Network, network
from ntksym.spec import schema as s

HANIN_NICA_SLOPE = 5.0  # log E[Theta^2] / E[Theta]^2 ~ 5 beta (ReLU, no bias, w_std^2 = 2)
_CHUNK_NUMBERS = 20_000_000  # weights held at once by the vmapped seeds of one chunk


@dataclass(frozen=True)
class DispersionPoint:
    depth: int | None  # the depth hyperparameter's value (None: the spec's own)
    width: int
    beta: float  # sum over hidden layers of 1 / width
    seeds: int
    diagonal: float  # mean over inputs x of E[Theta(x, x)^2] / E[Theta(x, x)]^2
    off_diagonal: float  # the same over pairs x != x' (nan for one input)
    mean_diagonal: float  # mean over inputs of E[Theta(x, x)] (the kernel's scale)


@dataclass(frozen=True)
class DispersionReport:
    spec: str
    points: tuple[DispersionPoint, ...]

    def fit(self, which: str = "diagonal") -> tuple[float, float, float]:
        """(slope, intercept, R^2) of log(dispersion) against beta, least squares over the points."""
        beta = np.array([p.beta for p in self.points])
        value = np.log(np.array([getattr(p, which) for p in self.points]))
        if len(beta) < 2 or np.ptp(beta) == 0:
            raise InputError("fitting the dispersion needs points at two or more values of beta (depth/width)")
        slope, intercept = np.polyfit(beta, value, 1)
        residual = value - (slope * beta + intercept)
        total = np.sum((value - value.mean()) ** 2)
        r2 = 1.0 - float(np.sum(residual**2) / total) if total > 0 else 1.0
        return float(slope), float(intercept), r2

    def to_dict(self) -> dict:
        def finite(point: DispersionPoint) -> dict:  # JSON has no nan: null for "not measured"
            return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(point).items()}

        out: dict = {"spec": self.spec, "points": [finite(p) for p in self.points]}
        if len({p.beta for p in self.points}) >= 2:
            slope, intercept, r2 = self.fit()
            out["fit_diagonal"] = {"slope": slope, "intercept": intercept, "r2": r2,
                                   "hanin_nica_slope": HANIN_NICA_SLOPE}
        return out


def hidden_layers(records: tuple) -> int:
    """Hidden dense and conv layers of a network's records, repeats counted (the output layer excluded)."""
    count = 0
    for rec in records:
        if rec[0] in ("dense", "conv") and not (rec[0] == "dense" and rec[4]):
            count += 1
        elif rec[0] in P.WEIGHTED:
            count += 1
        elif rec[0] == "repeat":
            count += rec[1] * hidden_layers(rec[2])
        elif rec[0] == "residual":
            count += hidden_layers(rec[2])
        elif rec[0] == "branches":  # parallel paths: the longest one (beta sums along a path)
            count += max((hidden_layers(path) for path in rec[2]), default=0)
    return count


def _ntk_samples(net: Network, width: int, x: jax.Array, seeds: int, key) -> np.ndarray:
    """Empirical NTKs (seeds, n, n), one per seed of the weights."""
    keys = jax.random.split(key, seeds)
    if not has_fast_path(net):  # layers the factorised NTK does not know: one Jacobian NTK per seed
        return np.stack([np.asarray(empirical_ntk(net.init(k, width), x)) for k in keys])
    shape = tuple(x.shape[1:]) if P.is_spatial(net.records) else int(np.prod(x.shape[1:]))
    records, phis, parameterization = net.records, net.activations, net.parameterization

    def one(k, inputs):  # the inputs are an argument: closed over, XLA would fold them as constants
        params = P.init(k, records, shape, parameterization, width)[0]
        return P.empirical_ntk(params, inputs, None, records, phis, parameterization)

    size = sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(
        jax.eval_shape(lambda k: P.init(k, records, shape, parameterization, width)[0], keys[0])))
    chunk = max(1, min(seeds, _CHUNK_NUMBERS // max(size, 1)))
    batched = jax.jit(jax.vmap(one, in_axes=(0, None)))
    out = []
    for start in range(0, seeds, chunk):
        part = keys[start : start + chunk]
        if len(part) < chunk:  # keep one compiled shape: pad the last chunk, drop the padding
            part = jnp.concatenate([part, keys[: chunk - len(part)]])
        out.append(np.asarray(batched(part, x))[: min(chunk, seeds - start)])
    return np.concatenate(out)


def dispersion(samples: np.ndarray) -> tuple[float, float, float]:
    """(diagonal, off-diagonal, mean diagonal) of NTK samples (seeds, n, n): E[T^2] / E[T]^2 per entry,
    averaged over the diagonal entries and over the off-diagonal ones."""
    second, first = np.mean(samples**2, axis=0), np.mean(samples, axis=0)
    ratio = second / first**2
    n = samples.shape[1]
    diagonal = float(np.mean(np.diag(ratio)))
    off = float(np.mean(ratio[~np.eye(n, dtype=bool)])) if n > 1 else math.nan
    return diagonal, off, float(np.mean(np.diag(first)))


def ntk_dispersion(
    spec: s.Spec,
    x,
    widths: Sequence[int],
    depths: Sequence[int] | None = None,
    depth_name: str | None = None,
    seeds: int = 200,
    key: int = 0,
    hyperparameters: dict[str, float] | None = None,
    progress=None,
) -> DispersionReport:
    """E[Theta^2] / E[Theta]^2 of the empirical NTK on inputs `x` over `seeds` weight draws, at every width
    and (when `depths` is given) every value of the hyperparameter `depth_name`, the spec's repeat count."""
    x = jnp.asarray(check_inputs(np.asarray(x), spec, "x"))
    if seeds < 2:
        raise InputError(f"seeds must be at least 2 to estimate a dispersion, got {seeds}")
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise InputError("widths must be whole numbers >= 1, e.g. --widths 16,32,64")
    if depths is not None:
        name = depth_name or "depth"
        if name not in spec.hyperparameter_values:
            raise InputError(
                f"sweeping depth needs the spec's repeat count as a hyperparameter named `{name}` (write "
                f"`repeat: {name}` and `hyperparameters: {{{name}: 3}}`), or give --depth-name")
        if min(depths) < 0:
            raise InputError("depths must be whole numbers >= 0")
    points = []
    grid = [(d, w) for d in (depths if depths is not None else [None]) for w in widths]
    if progress is not None:
        progress.start("dispersion", len(grid))
    for i, (depth, width) in enumerate(grid):
        overrides = dict(hyperparameters or {})
        if depth is not None:
            overrides[depth_name or "depth"] = float(depth)
        net = network(spec, overrides)
        hidden = hidden_layers(net.records)
        samples = _ntk_samples(net, width, x, seeds, jax.random.PRNGKey(key + 7919 * i))
        if not np.all(np.isfinite(samples)):
            raise InputError(f"the empirical NTK overflowed at depth {depth}, width {width}; lower w_std or depth")
        diagonal, off, mean_diagonal = dispersion(samples)
        points.append(DispersionPoint(depth, width, hidden / width, seeds, diagonal, off, mean_diagonal))
        if progress is not None:
            progress.advance("dispersion")
    return DispersionReport(spec.name, tuple(points))
