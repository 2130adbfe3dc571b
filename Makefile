# `make run` and `make test` bootstrap .venv on first use (and again only when pyproject.toml
# changes), then run the example pipeline or the whole test suite.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
BIN := $(abspath $(VENV))/bin

export PATH := $(BIN):$(PATH)
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: run test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -rf *.egg-info
	touch $(STAMP)

run: $(STAMP)
	dvc repro

test: $(STAMP)
	pytest

lint: $(STAMP)
	ruff check .
	ruff format --check .

format: $(STAMP)
	ruff check --fix .
	ruff format .

clean:
	rm -rf $(VENV) .bucle outputs multirun .pytest_cache .ruff_cache
