#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and JAX's CUDA wheels, run the GPU-relevant tests and the
# kernels at GPU sizes with their throughput against the GPU's peak.
#
#   benchmarks/gpu_check.sh            # full sizes: N = 20,000 ReLU, CNN-GAP 32x32x3, empirical NTK width 4096
#   benchmarks/gpu_check.sh --quick    # smaller sizes (a few minutes)
#
# Needs `pip install -e ".[test]" "jax[cuda12]"` in .venv first (the GPU wheels are not a dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" - <<'PYEOF'
import jax
devices = jax.devices()
print("jax devices:", devices)
if devices[0].platform != "gpu":
    raise SystemExit("no GPU backend: install jax[cuda12] into the environment first")
PYEOF
# float32 default on GPU; tiles, sharding over the local GPUs, spatial kernels, empirical NTKs, PSD/finite checks
"$PY" -m pytest -q tests/test_tiles.py tests/test_sharding.py tests/test_spatial_kernels.py tests/test_empirical.py \
    tests/test_kernel_properties.py tests/test_reference.py tests/test_processes.py
"$PY" benchmarks/gpu_sizes.py "$@"
