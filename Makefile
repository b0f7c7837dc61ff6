# reconciler: `make test` (lint + the test suite), `make demo` (the whole story on the simulated tenant),
# `make bench` (speed targets). Each installs what it needs into .venv first, from the lock files.
# `make lock` re-resolves the lock files from pyproject.toml (needs PyPI).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCKS := requirements.lock requirements-dev.lock
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
PIP_COMPILE := CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: install lint test demo bench clean azurite lock

# Exactly the locked versions (every file checked against its hash; pip resolves nothing), then the project
# itself without dependencies, built with the locked setuptools. A changed lock or pyproject.toml starts
# from an empty .venv, so nothing a former lock brought stays behind.
$(STAMP): pyproject.toml $(LOCKS)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The dev lock first (runtime + dev extras + the editable build's requirements), then the runtime lock
# constrained by it, so both pin the same versions. Existing pins are kept while pyproject.toml allows them:
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed release,
# `make lock LOCK_ARGS='--upgrade-package msgraph-sdk'` only that one (and what it needs).
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet '$(PIP_TOOLS)'
	$(PIP_COMPILE) --extra dev --build-deps-for editable -o requirements-dev.lock pyproject.toml
	$(PIP_COMPILE) --build-deps-for wheel -c requirements-dev.lock -o requirements.lock pyproject.toml

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
	rm -rf $(VENV) $(LOCK_VENV) .azurite .pytest_cache .mypy_cache .ruff_cache
