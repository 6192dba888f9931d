"""ntksym: derive the NNGP and Neural Tangent Kernel of a network spec, and compile it to JAX.

    import ntksym
    spec = ntksym.load_spec("specs/relu_mlp.yaml")
    d = ntksym.derive(spec)              # d.text(), d.latex()
    model = ntksym.compile(spec)         # cached by spec hash, dtype and version
    k = model.kernel(x1, x2)             # k.nngp, k.ntk
    p = ntksym.predict(model, x_train, y_train, x_test, [0, 1, np.inf])   # p.mean, p.cov, p.train_loss
"""

from ntksym._version import __version__
from ntksym.compile import compile_spec as compile
from ntksym.errors import CodegenError, DerivationError, InputError, NtksymError, NumericalError, SpecError
from ntksym.runtime import dynamics
from ntksym.runtime.dynamics import Prediction, predict
from ntksym.runtime.kernel import CompiledModel, Kernel
from ntksym.spec import Spec, load_spec, parse_spec
from ntksym.symbolic.derivation import Derivation, derive

__all__ = [
    "__version__", "load_spec", "parse_spec", "derive", "compile", "Spec", "Derivation", "CompiledModel",
    "Kernel", "NtksymError", "SpecError", "DerivationError", "CodegenError", "InputError", "NumericalError",
    "dynamics", "predict", "Prediction",
]
