# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-test system-test-deps

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

test: system-test-deps install-test
	$(PY) -m pytest
