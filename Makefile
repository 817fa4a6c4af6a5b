# Two commands on a fresh machine: `make up` (run everything) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# A CPU build of torch that 2.13.0 satisfies; installed first so nothing pulls a CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: install up test test-fast schema bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev,local]"
	touch $(STAMP)

up: install
	AGENTHUB_ENV=$${AGENTHUB_ENV:-development} $(BIN)/agenthub up --host $${AGENTHUB_HOST:-127.0.0.1} --port $${AGENTHUB_PORT:-8000}

test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m unit

schema: install
	$(BIN)/agenthub export-schema -o schema/schema.graphql

bench: install
	$(BIN)/python -m bench.rpc

clean:
	rm -rf $(VENV) var .pytest_cache
