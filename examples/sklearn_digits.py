"""ntksym's infinite-network estimators on scikit-learn's digits, next to scikit-learn's RBF SVC.

    python examples/sklearn_digits.py          # needs the `data` extra (scikit-learn); about a minute on 2 cores

load_digits (1797 8x8 images, 10 classes): the first 1000 after a fixed shuffle train, the other 797 test.
Pixels are divided by 16 and each image scaled to unit norm for the ntksym estimators and kernels (the
kernels of a bias-free ReLU network depend on angles and norms); the RBF SVC gets standardised features,
its usual input. Each model picks its parameters by 3-fold cross-validation on the training set only.
The spec is the bundled default: the five-layer ReLU MLP of specs/relu_mlp.yaml (sigma_w = sqrt 2).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC

import ntksym.sklearn as nsk
from ntksym.sklearn import NNGPClassifier, NTKClassifier, NTKKernel

N_TRAIN = 1000


def data():
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order] / 16.0, y[order]
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def models():
    unit = Normalizer()  # each image to unit norm
    regs = [1e-4, 1e-2, 1e-1]
    return {
        "ntksym NTKClassifier (t = inf)": GridSearchCV(
            make_pipeline(unit, NTKClassifier()), {"ntkclassifier__diag_reg": regs,
                                                   "ntkclassifier__sigma_b": [0.0, 0.5]}, cv=3),
        "ntksym NTKClassifier (t = 1000)": GridSearchCV(
            make_pipeline(unit, NTKClassifier(t=1000.0)), {"ntkclassifier__sigma_b": [0.0, 0.5]}, cv=3),
        "ntksym NNGPClassifier (t = inf)": GridSearchCV(
            make_pipeline(unit, NNGPClassifier()), {"nngpclassifier__diag_reg": regs,
                                                    "nngpclassifier__sigma_b": [0.0, 0.5]}, cv=3),
        "scikit-learn SVC, RBF kernel": GridSearchCV(
            make_pipeline(StandardScaler(), SVC(kernel="rbf")),
            {"svc__C": [1, 10, 100], "svc__gamma": ["scale", 0.003, 0.01, 0.03]}, cv=3),
        "scikit-learn SVC, ntksym NTK kernel": GridSearchCV(
            make_pipeline(unit, SVC(kernel=NTKKernel())), {"svc__C": [1, 10, 100]}, cv=3),
    }


def main() -> None:
    x_train, y_train, x_test, y_test = data()
    print(f"digits: {len(x_train)} train, {len(x_test)} test, {x_train.shape[1]} features, 10 classes\n")
    print("| model | test accuracy | chosen by 3-fold CV | fit + CV time |\n|---|---|---|---|")
    for name, search in models().items():
        start = time.perf_counter()
        search.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = search.score(x_test, y_test)
        chosen = ", ".join(f"{k.split('__')[-1]}={v:g}" if isinstance(v, float) else f"{k.split('__')[-1]}={v}"
                           for k, v in search.best_params_.items())
        print(f"| {name} | {accuracy:.4f} | {chosen} | {seconds:.1f} s |")
    print(f"\nntksym.compile ran {nsk.MODELS.compiles} time(s); the jitted kernel holds {nsk.compile_count()} programs "
          "(one per input shape pair, for every grid point)")


if __name__ == "__main__":
    main()
