# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint install install-test system-test-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

install: $(VENV)/bin/python
	$(PY) -m pip install -e .

# The tests train tiny models and check the ONNX export against torch, so they need the training extra too.
install-test: $(VENV)/bin/python
	$(PY) -m pip install -e '.[train,test]'

# Test-only system packages: PostgreSQL server, Chromium for browser tests, Java + Maven for Elasticsearch,
# LibreOffice + poppler + CJK fonts for the report print tests.
system-test-deps:
	bash scripts/install-test-deps.sh

run: install
	$(VENV)/bin/wagewatch run

# Static checks: ruff (lint + format), mypy, import-linter (the layers in docs/ARCHITECTURE.md). mypy and grimp
# do not follow setuptools' editable finder, so they read a plain installed copy in $(LINT_DIR).
LINT_DIR := build/lint
BIN := $(abspath $(VENV))/bin

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf build/lib build/bdist.* $(LINT_DIR)
	$(BIN)/python -m pip install --quiet --no-deps --target $(LINT_DIR) .
	cd $(LINT_DIR) && $(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/.mypy_cache \
		-p wagewatch.core -p wagewatch.alerts
	cd $(LINT_DIR) && $(BIN)/lint-imports $(CURDIR)/pyproject.toml

test: system-test-deps install-test
	$(MAKE) lint
	$(PY) -m pytest
