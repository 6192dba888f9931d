"""scikit-learn estimators and kernels on a spec's infinite network (needs scikit-learn: the `data` extra).

    from ntksym.sklearn import NTKClassifier, NNGPKernel
    clf = NTKClassifier("specs/relu_mlp.yaml", diag_reg=1e-4).fit(X_train, y_train)   # kernel regression
    GridSearchCV(NTKClassifier(), {"sigma_w": [1.0, 1.4, 2.0]}, cv=3).fit(X, y)       # no recompilation
    GaussianProcessRegressor(ConstantKernel() * NNGPKernel() + WhiteKernel()).fit(X, y)
    SVC(kernel=NTKKernel()).fit(X, y)

Estimators: NTKRegressor, NNGPRegressor, NTKClassifier, NNGPClassifier (parameters spec, t, diag_reg,
dtype and the spec's hyperparameters). Kernels: NNGPKernel, NTKKernel (NetworkKernel), kernel_function.
docs/sklearn.md has the details. Compiled models are shared by every estimator and kernel of a process,
keyed by (spec hash, dtype): hyperparameter values never recompile.
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a test in a subprocess
    raise ImportError(
        "ntksym.sklearn needs scikit-learn, which is not installed: pip install 'ntksym[data]' "
        "(or pip install scikit-learn)"
    ) from exc

from ntksym.sklearn._models import DEFAULT_SPEC, MODELS, compile_count, compiled_model, resolve_spec
from ntksym.sklearn.estimators import NNGPClassifier, NNGPRegressor, NTKClassifier, NTKRegressor
from ntksym.sklearn.kernels import NetworkKernel, NNGPKernel, NTKKernel, kernel_function

__all__ = ["NTKRegressor", "NNGPRegressor", "NTKClassifier", "NNGPClassifier", "NetworkKernel", "NNGPKernel",
           "NTKKernel", "kernel_function", "compiled_model", "compile_count", "resolve_spec", "DEFAULT_SPEC",
           "MODELS"]
