# The README's two commands (`make run`, `make test`) and a few helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format migrate bench clean

run: $(VENV)/.installed ## Serve Weft on the embedded SQLite default, with a demo org
	$(BIN)/weft serve --demo

test: $(VENV)/.dev-installed ## Lint, then the whole suite on SQLite and PostgreSQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(BIN)/weft migrate

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Weft needs Python 3.11 or newer (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Weft against n8n (wrk, n8n 2.41.1 and its Node are installed on first use; see BENCHMARKS.md).
# BENCH_ARGS=--quick for short rounds, e.g. BENCH_ARGS="--quick --only weft-sqlite".
bench: $(VENV)/.dev-installed
	bash bench/install.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
