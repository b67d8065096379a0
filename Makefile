# The two commands of the README: `make train` and `make test`.
# Each creates .venv when it is missing and installs what it needs, idempotently
# (a stamp file per install set, redone when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: train test lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	touch $@

install: $(VENV)/.installed-core

## Train the default model (two-layer net, embedded digits, float32); writes a new run folder under runs/.
train: $(VENV)/.installed-core
	$(VENV)/bin/layerwise train $(ARGS)

## Static checks: ruff, formatting, mypy, and the import contracts of docs/DESIGN.md (import-linter).
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests $(wildcard benchmarks examples)
	$(VENV)/bin/ruff format --check src tests $(wildcard benchmarks examples)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

## Lint, type-check and run the whole suite (two workers: CI has two cores). One BLAS thread
## per worker: two workers each asking for two threads on two cores slow each other down.
test: lint
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
