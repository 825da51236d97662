# Maskwatch developer commands. `make demo` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is only needed to train the mask model and by its tests;
# serving on the CPU uses ONNX Runtime.
TORCH ?= torch==2.13.0

.PHONY: setup demo up test check lint typecheck format bench bench-quick bench-more clean wheel \
	lock dashboard dashboard-check dashboard-types dashboard-types-check dashboard-unit dashboard-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the demo and the services need (no torch: serving on the CPU uses ONNX Runtime).
$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[server]"
	touch $@

# The web console (dashboard/): built only where npm is installed; the Python side works without it.
NPM := $(shell command -v npm 2>/dev/null)
DASHBOARD := dashboard

# Everything for development: training (torch), tests, linters.
$(VENV)/.dev: pyproject.toml constraints.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -c constraints.txt "$(TORCH)"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[server,train,dev]"
	touch $@

setup: $(VENV)/.dev dashboard

# npm ci and the production build (dashboard/dist, served by the API at /), each redone only when what
# it is made from changed; skipped without npm.
ifneq ($(NPM),)
DASHBOARD_SOURCES := $(shell find $(DASHBOARD)/src $(DASHBOARD)/public -type f 2>/dev/null) \
	$(wildcard $(DASHBOARD)/index.html $(DASHBOARD)/vite.config.ts $(DASHBOARD)/tsconfig*.json)
$(DASHBOARD)/node_modules/.package-lock.json: $(DASHBOARD)/package-lock.json
	cd $(DASHBOARD) && npm ci --no-audit --no-fund
	touch $@
$(DASHBOARD)/dist/index.html: $(DASHBOARD)/node_modules/.package-lock.json $(DASHBOARD_SOURCES)
	cd $(DASHBOARD) && npm run build
dashboard: $(DASHBOARD)/dist/index.html
else
dashboard:
	@echo "npm not found: the web console is not built (the API still runs; / says how to build it)"
endif

# The demo's checks, then the console on the same stack (a demo login is printed) until Ctrl-C.
demo: $(VENV)/.runtime dashboard
	$(BIN)/maskwatch demo

up: $(VENV)/.runtime
	$(BIN)/maskwatch up

test: setup
	$(BIN)/python -m pytest

check: setup lint typecheck dashboard-types-check dashboard-check

# The console's TypeScript (strict) type-checks; skipped without npm.
dashboard-check:
ifneq ($(NPM),)
	cd $(DASHBOARD) && npm run check
else
	@echo "npm not found: the console's type check is skipped"
endif

# The committed OpenAPI document and the types generated from it match what the API says now.
dashboard-types-check: $(VENV)/.runtime
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	$(BIN)/python $(DASHBOARD)/scripts/openapi.py "$$scratch/openapi.json" && \
	if ! diff -q "$$scratch/openapi.json" $(DASHBOARD)/openapi.json >/dev/null; then \
	  echo "dashboard/openapi.json is out of date: run make dashboard-types" >&2; exit 1; fi && \
	if [ -n "$(NPM)" ]; then \
	  (cd $(DASHBOARD) && npx --no-install openapi-typescript "$$scratch/openapi.json" -o "$$scratch/schema.d.ts" >/dev/null) && \
	  if ! diff -q "$$scratch/schema.d.ts" $(DASHBOARD)/src/api/schema.d.ts >/dev/null; then \
	    echo "dashboard/src/api/schema.d.ts is out of date: run make dashboard-types" >&2; exit 1; fi; \
	else echo "npm not found: only the OpenAPI document was compared"; fi

# Regenerate both after changing the API.
dashboard-types: $(VENV)/.runtime
	$(BIN)/python $(DASHBOARD)/scripts/openapi.py $(DASHBOARD)/openapi.json
	cd $(DASHBOARD) && npx --no-install openapi-typescript openapi.json -o src/api/schema.d.ts

# The console's unit tests (Vitest, jsdom).
dashboard-unit:
	cd $(DASHBOARD) && npm test

# Unit tests, then the browser tests (Chromium via playwright-core) against the real stack, on a fresh build.
dashboard-test: $(VENV)/.dev
	cd $(DASHBOARD) && npm test && npm run build
	$(BIN)/python -m pytest tests/dashboard

# A wheel of this checkout in dist/, for a Pi to install without the source (docs/devices.md).
wheel: | $(BIN)/python
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy maskwatch services devices stack training bench

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The pipeline against the bare model and a synchronous server, workers, memory, cameras: a table per
# section, then one JSON object with every figure, last (bench/bench_pipeline.py; about 25 minutes).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--soak-s 600".
bench: setup
	$(BIN)/python bench/bench_pipeline.py $(BENCH_ARGS)

# Every figure of `make bench` from short runs: a smoke test of the harness, not numbers to compare.
bench-quick: setup
	$(BIN)/python bench/bench_pipeline.py --quick $(BENCH_ARGS)

# The single-purpose benchmarks: the model's options, the gate path in one process, cameras, figures.
bench-more: setup
	$(BIN)/python bench/bench_inference.py
	$(BIN)/python bench/bench_gate_path.py
	$(BIN)/python bench/bench_cameras.py
	$(BIN)/python bench/bench_figures.py

# The fault drills alone (the database away for 3 minutes, as in the suite): docs/reliability.md.
.PHONY: drills soak
drills: setup
	$(BIN)/python -m pytest tests/drills -s

# Many gates and cameras for a bounded run: the drills' counts and each service's memory, start and end.
soak: setup
	$(BIN)/python bench/soak.py

# constraints.txt from the development venv: run after changing a dependency in pyproject.toml (or to
# take new releases: `pip install -U` in the venv, `make test`, then `make lock`).
lock: $(VENV)/.dev
	{ sed -n '/^#/p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v -i -E '^(torch|nvidia-|triton)[=-]'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(DASHBOARD)/node_modules $(DASHBOARD)/dist $(DASHBOARD)/test-results
