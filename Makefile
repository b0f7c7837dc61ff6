# reconciler: `make test` (lint + the test suite), `make demo` (the whole story on the simulated tenant),
# `make bench` (speed targets). Each installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint test demo bench clean azurite

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests bench
	$(BIN)/mypy

azurite:  # the Azure Storage emulator for the azure_blob backend's tests (Node.js + npm; pinned by a lock file)
	bash scripts/azurite.sh install

test: lint azurite
	$(BIN)/pytest -q -n 2

demo: $(STAMP)
	bash scripts/demo.sh

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .azurite .pytest_cache .mypy_cache .ruff_cache
