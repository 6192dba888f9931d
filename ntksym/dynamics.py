"""Training dynamics of the infinite ensemble: the public module (`from ntksym.dynamics import ...`).

The code lives in `ntksym.runtime.dynamics` (checks and numpy results) on top of the jax core
`ntksym.codegen.preludes.dynamics`; this module re-exports its public names.

    from ntksym.dynamics import predict_from_kernels
    p = predict_from_kernels(ntk_dd, ntk_td, y, [0, 10, np.inf], nngp_train_train=nngp_dd,
                             nngp_test_train=nngp_td, nngp_test_test=nngp_tt)
"""

from ntksym.runtime.dynamics import (
    KERNELS,
    Prediction,
    Predictions,
    divergence_message,
    max_learning_rate,
    predict,
    predict_from_kernels,
)
from ntksym.runtime.dynamics_loss import LOSSES, Trajectory, train, train_from_kernels

__all__ = ["KERNELS", "LOSSES", "Prediction", "Trajectory", "train", "train_from_kernels", "Predictions",
           "divergence_message", "max_learning_rate", "predict",
           "predict_from_kernels"]
