"""The generated module carries `predict` and `max_learning_rate`: usable with ntksym not importable."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
import yaml

import ntksym
from ntksym.codegen.emit import emit_module
from ntksym.runtime.dynamics import predict

LAYERS = [{"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": "erf"},
          {"dense": {"w_std": 1.5, "b_std": 0.1}}, {"activation": "relu"}, {"dense": {"w_std": 1.0}}]

SCRIPT = textwrap.dedent("""
    import importlib.util, json, sys
    sys.path[:] = [p for p in sys.path if "site-packages" not in p] + [JAX_SITE]
    assert importlib.util.find_spec("ntksym") is None, "ntksym must not be importable here"
    import numpy as np
    spec = importlib.util.spec_from_file_location("generated", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = np.load(DATA)
    out = module.predict(data["x_train"], data["y_train"], data["x_test"], [0.0, 1.0, 10.0, np.inf],
                         kernel="ntk", learning_rate=0.5, diag_reg=1e-4)
    np.savez(RESULT, mean=np.asarray(out["mean"]), cov=np.asarray(out["cov"]),
             train_loss=np.asarray(out["train_loss"]),
             max_rate=module.max_learning_rate(data["x_train"], output_dim=2, diag_reg=1e-4),
             diverges=out["diverges"])
    print(json.dumps(sorted(k for k in sys.modules if k.startswith("ntksym"))))
""")


def _spec():
    doc = {"ntksym": 1, "name": "dyn-module", "layers": LAYERS}
    return ntksym.parse_spec(yaml.safe_dump(doc, sort_keys=False))


def test_generated_module_defines_predict_and_max_learning_rate():
    tree = ast.parse(emit_module(ntksym.derive(_spec()), "float64"))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"kernel", "predict", "max_learning_rate"} <= names
    imports = {ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))}
    assert imports <= {"import jax", "import jax.numpy as jnp", "import jax.scipy.special as jsp",
                       "import numpy as np", "from jax import lax", "from typing import NamedTuple"}


def test_standalone_module_predicts_like_the_runtime(tmp_path):
    module_path = tmp_path / "dyn_module.py"
    module_path.write_text(emit_module(ntksym.derive(_spec()), "float64"))
    rng = np.random.default_rng(5)
    data = {"x_train": rng.normal(size=(7, 3)), "y_train": rng.normal(size=(7, 2)),
            "x_test": rng.normal(size=(4, 3))}
    np.savez(tmp_path / "data.npz", **data)
    jax_site = os.path.dirname(os.path.dirname(jax.__file__))
    paths = {"JAX_SITE": jax_site, "MODULE": str(module_path), "DATA": str(tmp_path / "data.npz"),
             "RESULT": str(tmp_path / "result.npz")}
    script = "".join(f"{name} = {value!r}\n" for name, value in paths.items()) + SCRIPT
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    run = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"  # no ntksym module was loaded
    got = np.load(tmp_path / "result.npz")
    model = ntksym.compile(_spec(), dtype="float64")
    want = predict(model, data["x_train"], data["y_train"], data["x_test"], [0.0, 1.0, 10.0, np.inf],
                   learning_rate=0.5, diag_reg=1e-4)
    np.testing.assert_allclose(got["mean"], want.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["cov"], want.cov, rtol=1e-12, atol=1e-14)
    # at t = inf the train loss is a rounding-level residual (2e-8 here): an absolute floor as for mean and cov
    np.testing.assert_allclose(got["train_loss"], want.train_loss, rtol=1e-12, atol=1e-14 * want.train_loss[0])
    assert float(got["max_rate"]) == pytest.approx(want.max_learning_rate, rel=1e-12)
    assert not bool(got["diverges"])


@pytest.mark.slow  # about 45 s on 2 cores; kernel="both" and cov=False are checked on the runtime by default
def test_module_predicts_both_kernels_and_skips_the_covariance(tmp_path):
    import importlib.util

    path = tmp_path / "dyn_both.py"
    path.write_text(emit_module(ntksym.derive(_spec()), "float64"))
    loader = importlib.util.spec_from_file_location("dyn_both", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    rng = np.random.default_rng(8)
    x_train, y_train, x_test = rng.normal(size=(7, 3)), rng.normal(size=(7, 2)), rng.normal(size=(4, 3))
    both = module.predict(x_train, y_train, x_test, [1.0, np.inf], kernel="both", diag_reg=1e-4)
    want = ntksym.predict(ntksym.compile(_spec(), dtype="float64"), x_train, y_train, x_test, [1.0, np.inf],
                          kernel="both", diag_reg=1e-4)
    for kernel in ("ntk", "nngp"):
        assert both[kernel]["kernel"] == kernel
        np.testing.assert_allclose(both[kernel]["mean"], getattr(want, kernel).mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(both[kernel]["cov"], getattr(want, kernel).cov, rtol=1e-12, atol=1e-14)
    for options in ({"cov": False}, {"compute_cov": False}):
        out = module.predict(x_train, y_train, x_test, [np.inf], diag_reg=1e-4, **options)
        assert out["cov"] is None
        np.testing.assert_allclose(out["mean"][0], want.ntk.mean[-1], rtol=1e-10, atol=1e-14)
