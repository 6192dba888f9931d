# Quick start: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow figures lint bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p build
	$(BIN)/ntksym validate specs/relu_mlp.yaml
	$(BIN)/ntksym derive specs/relu_mlp.yaml
	$(BIN)/ntksym compile specs/relu_mlp.yaml -o build/relu_mlp_kernel.py
	$(BIN)/python examples/make_data.py build/demo_x.npy
	$(BIN)/ntksym kernel specs/relu_mlp.yaml --x1 build/demo_x.npy -o build/demo_kernel.npz --x64 --show

# pytest-xdist workers, each taking a test file at a time (module fixtures are built once). Two fit CI's two cores
# (a container's core count is not reliably visible to `-n auto`); more cores: `make test TEST_WORKERS=8`
TEST_WORKERS ?= 2

# Byte-compiled once here: with PYTHONDONTWRITEBYTECODE set (as on the build machines) every test worker and every command the
# tests launch would compile ntksym's sources again
test: $(STAMP)
	$(BIN)/python -m compileall -q ntksym cli
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,data]"  # the slow suite generates MNIST-1D
	$(BIN)/python -m compileall -q ntksym cli
	$(BIN)/python -m pytest -q -m slow -n $(TEST_WORKERS) --dist loadfile

# The full-size figures of "Reproducing the papers" (README), one example per seed: about an hour on 2 cores
figures: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,data]"
	$(BIN)/python examples/ntk_dispersion.py
	$(BIN)/python examples/drift_ordered_vs_chaotic.py docs/drift_ordered_vs_chaotic.png
	$(BIN)/python examples/linearized_digits.py
	$(BIN)/python examples/ntk_spectrum.py
	$(BIN)/python tools/depth_table.py
	$(BIN)/python examples/fit_digits.py

# mypy checks `ntksym` and `ntksym.cli` (the packages and paths are in pyproject.toml's [tool.mypy]); cli/ installs
# as `ntksym.cli`, so build/mypy/ntksym/cli links to it for mypy to find (errors in cli/ name that path)
lint: $(STAMP)
	$(BIN)/python -m ruff check ntksym cli tests benchmarks examples tools
	mkdir -p build/mypy/ntksym && ln -sfn ../../../cli build/mypy/ntksym/cli
	$(BIN)/python -m mypy

# The benchmark matrix (ntksym vs neural-tangents, one run; neural-tangents gets its own venv on first use)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,data]"
	$(BIN)/python benchmarks/bench_matrix.py
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,data]"
	$(BIN)/python benchmarks/bench_matrix.py --quick

clean:
	rm -rf build .pytest_cache
