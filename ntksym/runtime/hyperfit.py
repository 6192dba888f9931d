"""Fit a spec's hyperparameters by the Gaussian-process log marginal likelihood of training data.

The infinite network's output is a Gaussian process with the NNGP as its kernel; with the NTK as the
kernel it is the NTK-GP of He et al. (2020, "Bayesian deep ensembles via the neural tangent kernel"),
whose posterior mean is the trained infinite ensemble's. For targets Y (n, k) and kernel K(theta):

    log p(Y | theta, nu) = -1/2 tr(Y^T A^-1 Y) - k/2 log det A - n k/2 log(2 pi),   A = K + nu mean(diag K) I

(Rasmussen & Williams 2006, eq. 5.8; the noise nu is relative to the kernel's scale, as `diag_reg`).
Hyperparameters are traced arguments of the generated kernel, so jax.grad differentiates the objective
through the whole recursion; BFGS (scipy, on the host, around one compiled value-and-gradient) or Adam
maximise it. Hyperparameters used as counts (repeat counts, widths) are not continuous and stay fixed.

For classification, `fit_cv_accuracy` maximises instead the k-fold cross-validated accuracy of the GP
posterior mean's arg-max (kernel ridge regression of one-hot targets). Accuracy is piecewise constant in the
hyperparameters, so it is searched without gradients: coordinate by coordinate over multiplicative steps,
one kernel evaluation on the training set per candidate (every fold is a block of that matrix).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
import yaml

from ntksym.codegen.preludes.kernel import jit
from ntksym.compile import compile_spec
from ntksym.errors import InputError
from ntksym.layers import walk_layers
from ntksym.runtime.data import check_inputs
from ntksym.spec import schema as s

KERNELS = ("nngp", "ntk")
METHODS = ("bfgs", "adam")
OBJECTIVES = ("likelihood", "cv_accuracy")
SEARCH_FACTORS = (0.5, 0.7, 0.85, 1.2, 1.4, 2.0)  # candidate multiples of a nonzero value per coordinate step
SEARCH_FROM_ZERO = (0.05, 0.1, 0.2, 0.5)  # candidates for a value that is 0 (a bias's std)
NOISE_FACTORS = (0.01, 0.1, 10.0, 100.0)
BFGS_RESTARTS = 5
NOISE_FLOOR = 1e-10  # a fitted noise stays above it: Cholesky of noiseless kernels on distinct points is fragile


@dataclass(frozen=True)
class FitResult:
    spec: s.Spec  # the spec with the fitted values
    kernel: str
    method: str
    start: dict[str, float]  # hyperparameters and `noise` before
    values: dict[str, float]  # and after
    start_log_likelihood: float  # log marginal likelihood (total over examples and outputs)
    log_likelihood: float
    history: tuple[float, ...]  # the objective per iteration (Adam) or at start and end (BFGS)
    spec_text: str | None  # the fitted spec as YAML (hyperparameters replaced; comments dropped), when the
    # original text is known (a spec loaded from a file, or `text` given)
    objective: str = "likelihood"  # or "cv_accuracy" (then history holds the best CV accuracy per step)
    start_cv_accuracy: float = math.nan  # k-fold cross-validated accuracy before and after (cv_accuracy fits)
    cv_accuracy: float = math.nan

    def to_dict(self) -> dict:
        doc = {"spec": self.spec.name, "kernel": self.kernel, "objective": self.objective, "method": self.method,
               "start": self.start, "values": self.values, "start_log_likelihood": self.start_log_likelihood,
               "log_likelihood": self.log_likelihood, "history": list(self.history)}
        if self.objective == "cv_accuracy":
            doc |= {"start_cv_accuracy": self.start_cv_accuracy, "cv_accuracy": self.cv_accuracy}
        return doc


def count_hyperparameters(spec: s.Spec) -> set[str]:
    """Names used where a whole number is expected (repeat counts, widths, channels): not fittable."""
    names = set()
    for layer in walk_layers(spec.layers):
        for field in dataclasses.fields(layer):
            value = getattr(layer, field.name)
            if isinstance(value, s.Ref) and "Count" in str(field.type):
                names.add(value.name)
    return names


def targets(y) -> np.ndarray:
    """(n, k) regression targets: class labels (n,) of integers become one-hot rows minus 1/k."""
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        classes = np.unique(y)
        return (y[:, None] == classes[None, :]).astype(np.float64) - 1.0 / len(classes)
    y = np.asarray(y, np.float64)
    return y[:, None] if y.ndim == 1 else y.reshape(len(y), -1)


def negative_log_likelihood(k: jax.Array, y: jax.Array, noise: jax.Array) -> jax.Array:
    """-log p(Y) for kernel k (n, n), targets y (n, kout), relative noise `noise` (see the module docstring)."""
    n, outputs = y.shape
    k = (k + k.T) / 2
    a = k + noise * jnp.mean(jnp.diag(k)) * jnp.eye(n, dtype=k.dtype)
    chol = jnp.linalg.cholesky(a)
    alpha = jax.scipy.linalg.cho_solve((chol, True), y)
    value = 0.5 * jnp.sum(y * alpha) + outputs * jnp.sum(jnp.log(jnp.diag(chol))) + 0.5 * n * outputs * math.log(2 * math.pi)
    return jnp.where(jnp.isfinite(value), value, jnp.inf)


def fit(
    spec: s.Spec,
    x,
    y,
    kernel: str = "nngp",
    names: Sequence[str] | None = None,
    noise: float | None = None,
    method: str = "bfgs",
    steps: int = 200,
    learning_rate: float = 0.05,
    text: str | None = None,
) -> FitResult:
    """Maximise the log marginal likelihood of (x, y) over the spec's hyperparameters `names` (default: every
    one that is not a count) and the relative noise (fitted from 1e-3 when `noise` is None, else fixed)."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if steps < 1:
        raise InputError(f"steps must be at least 1, got {steps}")
    model, defaults, names, xs, ys, noise0 = _prepare(spec, x, y, kernel, names, noise)
    fit_noise = noise is None
    index = 0 if kernel == "nngp" else 1

    # nonzero values are optimised as sign * exp(theta) (scales: a ReLU stack's kernel goes as w_std^(2 depth),
    # badly conditioned in w_std itself); a value that starts at 0 is optimised as itself
    starts = [float(defaults[name]) for name in names]
    signs = [math.copysign(1.0, v) if v != 0 else 0.0 for v in starts]

    def unpack(theta):
        hp = {name: (signs[i] * jnp.exp(theta[i]) if signs[i] else theta[i]) for i, name in enumerate(names)}
        return hp, (NOISE_FLOOR + jnp.exp(theta[-1]) if fit_noise else noise0)

    def plain_objective(theta, data):
        hp, nu = unpack(theta)
        return negative_log_likelihood(model.module.kernel(data[0], **hp)[index], data[1], nu)

    # gradients in forward mode (a few parameters; repeat counts given as hyperparameters are loops with traced
    # bounds, which reverse mode cannot differentiate), offered to the optimisers as a reverse-mode rule; the data
    # is an argument, not a closed-over constant, so that a jitted optimiser step does not fold it into XLA constants
    @jax.custom_vjp
    def objective_of(theta, data):
        return plain_objective(theta, data)

    def forward(theta, data):
        return plain_objective(theta, data), jax.jacfwd(plain_objective)(theta, data)

    def backward(jacobian, cotangent):
        return cotangent * jacobian, (jnp.zeros_like(xs), jnp.zeros_like(ys))

    objective_of.defvjp(forward, backward)

    # one compiled program serves every step, with the kernel's own XLA options
    value_and_gradient = jit(jax.value_and_grad(objective_of), xla_options=model.module.XLA_OPTIONS)

    def objective(theta):
        return float(value_and_gradient(jnp.asarray(theta), (xs, ys))[0])

    theta0 = jnp.asarray([math.log(abs(v)) if v != 0 else 0.0 for v in starts]
                         + ([math.log(noise0)] if fit_noise else []), jnp.float64)
    start_value = objective(theta0)
    if not math.isfinite(start_value):
        raise InputError("the kernel at the spec's values is not positive definite on x even with the noise; "
                         "give a larger --noise")
    if method == "bfgs":
        theta, history = _bfgs(lambda theta: value_and_gradient(theta, (xs, ys)), theta0, start_value, steps)
    else:
        theta, history = _adam(value_and_gradient, (xs, ys), theta0, steps, learning_rate)
    end_value = objective(theta)
    for i in range(len(names)):  # a standard deviation's sign does not matter: report it >= 0 where it does not
        if not signs[i] and float(theta[i]) < 0:
            flipped = theta.at[i].set(-theta[i])
            if abs(objective(flipped) - end_value) <= 1e-12 * max(1.0, abs(end_value)):
                theta = flipped
    hp, nu = unpack(theta)
    values = {name: float(v) for name, v in hp.items()} | {"noise": float(nu)}
    start = {name: float(defaults[name]) for name in names} | {"noise": noise0}
    fitted, text = _fitted_spec(spec, {name: values[name] for name in names}, text)
    return FitResult(fitted, kernel, method, start, values, -start_value, -end_value, tuple(-h for h in history), text)


def cv_accuracy(k: np.ndarray, labels: np.ndarray, noise: float, folds: int) -> float:
    """k-fold cross-validated accuracy of the posterior mean's arg-max (relative noise `noise`) for the
    training kernel k (n, n) and integer labels; fold f holds the examples whose index is f modulo `folds`."""
    k = (k + k.T) / 2
    y = targets(labels)
    correct = 0
    for fold in range(folds):
        held = np.arange(len(labels)) % folds == fold
        k_in = k[np.ix_(~held, ~held)]
        a = k_in + noise * np.mean(np.diag(k_in)) * np.eye(len(k_in))
        try:
            scores = k[np.ix_(held, ~held)] @ np.linalg.solve(a, y[~held])
        except np.linalg.LinAlgError:
            return 0.0
        if not np.all(np.isfinite(scores)):
            return 0.0
        correct += int(np.sum(np.argmax(scores, axis=1) == np.argmax(y[held], axis=1)))
    return correct / len(labels)


def fit_cv_accuracy(
    spec: s.Spec,
    x,
    y,
    kernel: str = "nngp",
    names: Sequence[str] | None = None,
    noise: float | None = None,
    folds: int = 5,
    rounds: int = 3,
    text: str | None = None,
    progress: Any = None,
) -> FitResult:
    """Maximise the `folds`-fold cross-validated classification accuracy over the hyperparameters `names` (and
    the relative noise unless `noise` fixes it): `rounds` sweeps of a coordinate search, each coordinate trying
    SEARCH_FACTORS times its value (SEARCH_FROM_ZERO where it is 0; NOISE_FACTORS for the noise) and keeping a
    candidate only if it is strictly better. `progress(done, total)` is called after each kernel evaluation."""
    labels = np.asarray(y)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError("the cv_accuracy objective needs integer class labels y of shape (n,)")
    if not 2 <= folds <= len(labels):
        raise InputError(f"--folds must be between 2 and the number of examples ({len(labels)}), got {folds}")
    if rounds < 1:
        raise InputError(f"rounds must be at least 1, got {rounds}")
    model, defaults, names, xs, ys, noise0 = _prepare(spec, x, labels, kernel, names, noise)
    order = np.random.default_rng(0).permutation(len(labels))  # folds that do not follow the file's order
    xs, ys, labels = xs[order], ys[order], labels[order]
    values = {name: float(defaults[name]) for name in names} | {"noise": noise0}
    kernels: dict[tuple, np.ndarray] = {}

    def train_kernel(point: dict[str, float]) -> np.ndarray:
        key = tuple(point[name] for name in names)
        if key not in kernels:
            hp = {name: point[name] for name in names}
            kernels[key] = np.asarray(getattr(model.kernel(xs, **hp), kernel))
        return kernels[key]

    def score(point: dict[str, float]) -> float:
        return cv_accuracy(train_kernel(point), labels, point["noise"], folds)

    coordinates = list(names) + (["noise"] if noise is None else [])
    total = rounds * sum(len(SEARCH_FACTORS) if c != "noise" else len(NOISE_FACTORS) for c in coordinates)
    start_score = best = score(values)
    history, done = [best], 0
    for _ in range(rounds):
        improved = False
        for name in coordinates:
            current = values[name]
            if name == "noise":
                candidates = [max(NOISE_FLOOR, current * f) for f in NOISE_FACTORS]
            elif current == 0:
                candidates = list(SEARCH_FROM_ZERO)
            else:
                candidates = [current * f for f in SEARCH_FACTORS]
            for candidate in candidates:
                trial = values | {name: candidate}
                value = score(trial)
                done += 1
                if progress is not None:
                    progress(done, total)
                if value > best:
                    best, values, improved = value, trial, True
            history.append(best)
        if not improved:
            break
    def likelihood(point: dict[str, float]) -> float:
        return -float(negative_log_likelihood(jnp.asarray(train_kernel(point)), ys, jnp.asarray(point["noise"])))

    start = {name: float(defaults[name]) for name in names} | {"noise": noise0}
    fitted, text = _fitted_spec(spec, {name: values[name] for name in names}, text)
    return FitResult(fitted, kernel, "search", start, values, likelihood(start), likelihood(values), tuple(history),
                     text, "cv_accuracy", start_score, best)


def _prepare(spec: s.Spec, x, y, kernel: str, names: Sequence[str] | None, noise: float | None):
    """The float64 model, its default values, the names to fit (checked), x and the targets, the start noise."""
    if kernel not in KERNELS:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    model = compile_spec(spec, dtype="float64")
    defaults = model.hyperparameters
    fixed_counts = count_hyperparameters(spec)
    if names is None:
        names = [name for name in defaults if name not in fixed_counts]
    for name in names:
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise InputError(f"--params: `{name}` is not a hyperparameter of the spec (it has: {known})")
        if name in fixed_counts:
            raise InputError(f"--params: `{name}` is a count (repeat count or width): it cannot be fitted")
    if not names and noise is not None:
        raise InputError("nothing to fit: the spec has no continuous hyperparameters and the noise is fixed; "
                         "add hyperparameters to the spec or leave --noise out")
    xs = jnp.asarray(check_inputs(np.asarray(x), spec, "x"))
    ys = jnp.asarray(targets(y))
    if ys.shape[0] != xs.shape[0]:
        raise InputError(f"y has {ys.shape[0]} rows but x has {xs.shape[0]} examples")
    noise0 = 1e-3 if noise is None else float(noise)
    if noise0 <= 0:
        raise InputError(f"--noise must be > 0, got {noise}")
    names = list(names)
    return model, defaults, names, xs, ys, noise0


def _bfgs(value_and_gradient, theta0, start_value: float, steps: int):
    """BFGS on the host (scipy) around the compiled value and gradient: each step costs one call of that one
    program, where jax.scipy's traced BFGS loop compiled the objective's derivative anew on every call.
    A line search that stalls on a curved valley is restarted from where it stopped (BFGS_RESTARTS times)."""

    import scipy.optimize  # here: importing it costs half a second, which every CLI command would pay

    def fun(theta):
        value, gradient = value_and_gradient(jnp.asarray(theta))
        return float(value), np.asarray(gradient, dtype=np.float64)

    theta, best, history = np.asarray(theta0, dtype=np.float64), start_value, [start_value]
    for _ in range(BFGS_RESTARTS):
        with np.errstate(invalid="ignore", over="ignore"):  # an infinite trial point: the line search backs off
            result = scipy.optimize.minimize(fun, theta, jac=True, method="BFGS", options={"maxiter": steps})
        value = float(result.fun)
        if not math.isfinite(value) or value > best:
            break
        improved = best - value
        theta, best = result.x, value
        history.append(value)
        if result.status == 0 or improved <= 1e-12 * max(1.0, abs(value)):
            break
    return jnp.asarray(theta), tuple(history)


def _adam(value_and_gradient, data, theta0, steps, learning_rate):
    m = v = jnp.zeros_like(theta0)
    theta, best, best_value, history = theta0, theta0, math.inf, []
    for t in range(1, steps + 1):
        value, g = value_and_gradient(theta, data)
        history.append(float(value))
        if float(value) < best_value:
            best, best_value = theta, float(value)
        if not bool(jnp.all(jnp.isfinite(g))):
            break
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - learning_rate * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-12)
    return best, tuple(history)


def _fitted_spec(spec: s.Spec, values: dict[str, float], text: str | None) -> tuple[s.Spec, str | None]:
    """The spec with its hyperparameters replaced, and its YAML when the original text is known."""
    import hashlib
    from pathlib import Path

    from ntksym.spec.load import parse_spec

    source = Path(spec.source)
    if text is None and source.is_file():
        text = source.read_text()
    if text is None:
        hp = dict(spec.hyperparameters) | values
        digest = hashlib.sha256(f"{spec.sha256}:fitted={sorted(values.items())}".encode()).hexdigest()
        return dataclasses.replace(spec, hyperparameters=tuple(hp.items()), sha256=digest), None
    doc = yaml.safe_load(text)
    doc["hyperparameters"] = {**(doc.get("hyperparameters") or {}), **values}
    text = yaml.safe_dump(doc, sort_keys=False)
    return parse_spec(text, source=f"{spec.source} (fitted)"), text


def posterior_mean(spec: s.Spec, x, y, x_test, values: dict[str, float], kernel: str = "nngp") -> np.ndarray:
    """The GP posterior mean at x_test (the NNGP or NTK-GP regression with the relative noise values['noise'])."""
    model = compile_spec(spec, dtype="float64")
    hp: dict[str, Any] = {k: v for k, v in values.items() if k != "noise"}
    k_train = np.asarray(getattr(model.kernel(x, **hp), kernel))
    k_test = np.asarray(getattr(model.kernel(x_test, x, **hp), kernel))
    a = (k_train + k_train.T) / 2 + values["noise"] * np.mean(np.diag(k_train)) * np.eye(len(k_train))
    return k_test @ np.linalg.solve(a, targets(y))


def accuracy(spec: s.Spec, x, y, x_test, y_test, values: dict[str, float], kernel: str = "nngp") -> float:
    """Test accuracy of the posterior mean's arg-max for integer class labels y, y_test."""
    y, y_test = np.asarray(y), np.asarray(y_test)
    if not (np.issubdtype(y.dtype, np.integer) and np.issubdtype(y_test.dtype, np.integer)):
        raise InputError("accuracy needs integer class labels in y")
    classes = np.unique(y)
    predicted = classes[np.argmax(posterior_mean(spec, x, y, x_test, values, kernel), axis=1)]
    return float(np.mean(predicted == y_test))
