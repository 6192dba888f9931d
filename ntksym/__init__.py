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

from typing import TYPE_CHECKING

from ntksym._version import __version__
from ntksym.compile import compile_spec as compile
from ntksym.derivation import Derivation, derive
from ntksym.errors import CodegenError, DerivationError, InputError, NtksymError, NumericalError, SpecError
from ntksym.spec.load import load_spec, parse_spec
from ntksym.spec.schema import Spec

if TYPE_CHECKING:
    from ntksym import dynamics
    from ntksym.dynamics import Prediction, Predictions, predict, predict_from_kernels
    from ntksym.reports.check import CheckReport
    from ntksym.runtime.check import check
    from ntksym.runtime.hyperfit import fit, fit_cv_accuracy
    from ntksym.runtime.kernel import CompiledModel, Kernel
    from ntksym.runtime.linearized import LinearizedReport, compare_linearized

__all__ = [
    "__version__", "load_spec", "parse_spec", "derive", "compile", "Spec", "Derivation", "CompiledModel",
    "Kernel", "NtksymError", "SpecError", "DerivationError", "CodegenError", "InputError", "NumericalError",
    "dynamics", "predict", "predict_from_kernels", "Prediction", "Predictions", "check", "CheckReport",
    "fit", "fit_cv_accuracy",
    "compare_linearized", "LinearizedReport",
]


# Names that load on first use, each from the module that defines it: they import jax, which `import ntksym` (and
# so `ntksym validate`, `derive`, `schema`) need not; `compile` imports it when it compiles a spec.
_LAZY = {
    "dynamics": "ntksym.dynamics", "predict": "ntksym.dynamics", "predict_from_kernels": "ntksym.dynamics",
    "Prediction": "ntksym.dynamics", "Predictions": "ntksym.dynamics",
    "CompiledModel": "ntksym.runtime.kernel", "Kernel": "ntksym.runtime.kernel",
    "check": "ntksym.runtime.check", "CheckReport": "ntksym.reports.check",
    "fit": "ntksym.runtime.hyperfit", "fit_cv_accuracy": "ntksym.runtime.hyperfit",
    "compare_linearized": "ntksym.runtime.linearized", "LinearizedReport": "ntksym.runtime.linearized",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'ntksym' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name])
    return module if name == "dynamics" else getattr(module, name)
