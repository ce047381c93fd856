# Set-up and the two everyday commands. Everything runs from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of PyTorch; installed before anything else so that no CUDA build gets pulled in.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint typecheck pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Core install (+ datasets): parsing, checking, code generation and the NumPy runtime, no framework.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[datasets]'
	touch $@

# Everything: all frameworks and the development tools.
$(VENV)/.all: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e '.[all]'
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/neural check examples/digits_cnn.neural
	$(BIN)/neural summary examples/digits_cnn.neural
	$(BIN)/neural train examples/digits_cnn.neural --backend numpy --data digits

test: $(VENV)/.all lint typecheck pytest

lint: $(VENV)/.all
	$(BIN)/ruff check neural tests benchmarks
	$(BIN)/ruff format --check neural tests benchmarks

typecheck: $(VENV)/.all
	$(BIN)/mypy

# Parallel workers (pytest-xdist); the cases of one conformance group stay on one worker. One BLAS/OpenMP
# thread per worker: the tests' tensors are small, and two workers with two threads each oversubscribe 2 cores.
# A worker that crashes (a signal in a framework's kernel) ends the run with that test failed: with
# --dist loadgroup, xdist (3.8) waits forever for the crashed worker's group after restarting it.
PYTEST_WORKERS ?= auto
pytest: $(VENV)/.all
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/pytest -q -n $(PYTEST_WORKERS) --maxprocesses=4 --dist loadgroup --max-worker-restart=0 --durations=15

docs: $(VENV)/.core
	$(BIN)/python -m neural.docs

bench: $(VENV)/.all
	$(BIN)/python benchmarks/bench_frontend.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
