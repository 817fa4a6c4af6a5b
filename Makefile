# Two commands on a fresh machine: `make up` (run everything) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# A CPU build of torch that 2.13.0 satisfies; installed first so nothing pulls a CUDA build.
TORCH  ?= torch==2.13.0
# The local model's runtime, built portable: GGML_NATIVE=OFF compiles for the x86-64 baseline with
# AVX2/FMA/F16C and without AVX-512 or AMX, instead of the build CPU's own features (-march=native),
# which crashed with SIGSEGV on VMs that advertise AMX without enabling it. GGML_CPU_ALL_VARIANTS is
# not used: ggml picks its AMX variant from CPUID alone, i.e. on exactly those VMs.
LLAMA     ?= llama-cpp-python==0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# Our own wheelhouse, keyed by the build flags: pip's wheel cache ignores CMAKE_ARGS and would hand
# back a native build made earlier on the same machine.
WHEELHOUSE ?= $(HOME)/.cache/agenthub/wheels/portable-1

# The web console's build output and what it is built from (see the console target below).
NODE        ?= node
CONSOLE_OUT := gateway/static/console/index.html
CONSOLE_SRC := $(wildcard web/console/src/*.ts web/console/src/*.tsx web/console/src/*.css web/console/src/pages/*.tsx) \
               web/console/package-lock.json web/console/index.html web/console/vite.config.ts schema/schema.graphql

.PHONY: install up test test-fast test-integration test-e2e lint schema bench graphiql console clean

install: $(STAMP) $(CONSOLE_OUT)

# The web console (web/console), built into the gateway package when Node.js >= 18 is here; the
# build is committed, so without Node (or without the npm registry) the gateway serves the last one
# and this says so once. `make console` builds it and fails on any error.
$(CONSOLE_OUT): $(CONSOLE_SRC)
	@if $(NODE) -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' 2>/dev/null; then \
	  echo "make install: building the web console (npm ci && npm run build in web/console)"; \
	  (cd web/console && npm ci --no-audit --no-fund && npm run build) \
	  || echo "make install: the console build FAILED (above); the committed build is served"; \
	else \
	  echo "make install: no Node.js >= 18 here: the web console is not rebuilt (the committed build is served)"; \
	fi

console:
	cd web/console && npm ci --no-audit --no-fund && npm run build

$(STAMP): pyproject.toml
	@echo "make install: creating $(VENV) and installing AgentHub (about 2 min; the first time also"
	@echo "  builds llama.cpp for the local model from source: about 6 min on 2 cores, cached afterwards)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make install: PyTorch (CPU build)"
	$(BIN)/pip install --quiet "$(TORCH)"
	@echo "make install: llama.cpp, portable build ($(LLAMA_CMAKE_ARGS))"
	@ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 \
	  || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir -w $(WHEELHOUSE) "$(LLAMA)"
	$(BIN)/pip install --quiet --no-deps $(WHEELHOUSE)/llama_cpp_python-*.whl
	@echo "make install: AgentHub and its dependencies"
	$(BIN)/pip install --quiet -e ".[dev,local]"
	@echo "make install: the embedding model to ONNX, int8 (about 20 s)"
	$(BIN)/agenthub export-embedder
	touch $(STAMP)
	@echo "make install: done"

up: install
	AGENTHUB_ENV=$${AGENTHUB_ENV:-development} $(BIN)/agenthub up --host $${AGENTHUB_HOST:-127.0.0.1} --port $${AGENTHUB_PORT:-8000}

test: install
	$(BIN)/pytest

# One level at a time (the folder is the level: tests/unit, tests/integration, tests/e2e).
test-fast: install
	$(BIN)/pytest tests/unit

test-integration: install
	$(BIN)/pytest tests/integration

test-e2e: install
	$(BIN)/pytest tests/e2e

# What CI runs before the tests (.ci/run); configured in pyproject.toml. `ruff check --fix` and
# `ruff format` fix most of what the first two report; .pre-commit-config.yaml runs them on commit.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

schema: install
	$(BIN)/agenthub export-schema -o schema/schema.graphql

bench: install
	$(BIN)/python bench/all.py

# GraphiQL's browser builds, pinned in web/graphiql/package.json (and its lockfile), copied into the
# gateway so it serves them offline. Only to change versions: the copied files are committed.
GRAPHIQL_SRC    := web/graphiql/node_modules
GRAPHIQL_VENDOR := gateway/static/graphiql/vendor
graphiql:
	cd web/graphiql && npm ci --no-audit --no-fund --ignore-scripts
	cp $(GRAPHIQL_SRC)/react/umd/react.production.min.js $(GRAPHIQL_VENDOR)/
	cp $(GRAPHIQL_SRC)/react-dom/umd/react-dom.production.min.js $(GRAPHIQL_VENDOR)/
	cp $(GRAPHIQL_SRC)/graphiql/graphiql.min.js $(GRAPHIQL_SRC)/graphiql/graphiql.min.css $(GRAPHIQL_VENDOR)/
	cp $(GRAPHIQL_SRC)/@graphiql/plugin-explorer/dist/index.umd.js $(GRAPHIQL_VENDOR)/plugin-explorer.umd.js
	cp $(GRAPHIQL_SRC)/@graphiql/plugin-explorer/dist/style.css $(GRAPHIQL_VENDOR)/plugin-explorer.css
	cd web/graphiql && npm ls --all --depth=0 > ../../$(GRAPHIQL_VENDOR)/VERSIONS.txt

clean:
	rm -rf $(VENV) var .pytest_cache
