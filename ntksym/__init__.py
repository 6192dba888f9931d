"""ntksym: derive the NNGP and Neural Tangent Kernel of a network spec, and compile it to JAX.

    import ntksym
    spec = ntksym.load_spec("specs/relu_mlp.yaml")
    d = ntksym.derive(spec)              # d.text(), d.latex()
    model = ntksym.compile(spec)         # cached by spec hash, dtype and version
    k = model.kernel(x1, x2)             # k.nngp, k.ntk
    p = ntksym.predict(model, x_train, y_train, x_test, [0, 1, np.inf])   # p.mean, p.cov, p.train_loss
    both = ntksym.predict(model, x_train, y_train, x_test, [np.inf], kernel="both")  # both.ntk, both.nngp
    report = ntksym.check(spec, widths=(64, 256, 1024))   # finite networks vs the theory
    fitted = ntksym.fit(spec, x_train, y_train)              # hyperparameters by the GP marginal likelihood
    lin = ntksym.compare_linearized(spec, x_train, y_train, x_test, y_test, widths=(64, 1024))  # vs linearisations
"""

from ntksym import dynamics
from ntksym._version import __version__
from ntksym.compile import compile_spec as compile
from ntksym.derivation import Derivation, derive
from ntksym.dynamics import Prediction, Predictions, predict, predict_from_kernels
from ntksym.errors import CodegenError, DerivationError, InputError, NtksymError, NumericalError, SpecError
from ntksym.runtime.kernel import CompiledModel, Kernel
from ntksym.spec.load import load_spec, parse_spec
from ntksym.spec.schema import Spec

__all__ = [
    "__version__", "load_spec", "parse_spec", "derive", "compile", "Spec", "Derivation", "CompiledModel",
    "Kernel", "NtksymError", "SpecError", "DerivationError", "CodegenError", "InputError", "NumericalError",
    "dynamics", "predict", "predict_from_kernels", "Prediction", "Predictions", "check", "CheckReport",
    "fit", "fit_cv_accuracy",
    "compare_linearized", "LinearizedReport",
]


def __getattr__(name: str):
    """`check`, the fits, `compare_linearized` and their reports load on first use: they import jax, which
    `import ntksym` need not."""
    if name == "check":
        from ntksym.runtime.check import check

        return check
    if name == "CheckReport":
        from ntksym.reports.check import CheckReport

        return CheckReport
    if name in ("fit", "fit_cv_accuracy"):
        from ntksym.runtime import hyperfit

        return getattr(hyperfit, name)
    if name in ("compare_linearized", "LinearizedReport"):
        from ntksym.runtime import linearized

        return getattr(linearized, name)
    raise AttributeError(f"module 'ntksym' has no attribute {name!r}")
