# Maskwatch developer commands. `make demo` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is only needed to train the mask model and by its tests;
# serving on the CPU uses ONNX Runtime.
TORCH ?= torch==2.13.0

.PHONY: setup demo up test check lint typecheck format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the demo and the services need (no torch: serving on the CPU uses ONNX Runtime).
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[server]"
	touch $@

# Everything for development: training (torch), tests, linters.
$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[server,train,dev]"
	touch $@

setup: $(VENV)/.dev

demo: $(VENV)/.runtime
	$(BIN)/maskwatch demo

up: $(VENV)/.runtime
	$(BIN)/maskwatch up

test: setup
	$(BIN)/python -m pytest

check: setup lint typecheck

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy maskwatch services devices stack training bench

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/bench_inference.py
	$(BIN)/python bench/bench_gate_path.py
	$(BIN)/python bench/bench_cameras.py
	$(BIN)/python bench/bench_figures.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
