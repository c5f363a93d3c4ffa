# The two commands of the README:  `make serve`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve build test lint install install-test install-lint chromium eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-lint: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[lint]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-lint: $(VENV)/.installed-lint

## Lint and type gate: ruff (lint + format check) and mypy (strict, pydantic plugin)
lint: install-lint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Main job: install, build the index from corpus/, serve the API + widget on http://127.0.0.1:8000
serve: install
	$(BIN)/askoleus build
	$(BIN)/askoleus serve

build: install
	$(BIN)/askoleus build

## Debian's Chromium for the browser tests (Playwright's own browser download does not work offline)
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	      && echo "installed /usr/bin/chromium"; \
	  else echo "warning: /usr/bin/chromium missing and not root: browser tests will be skipped"; fi; \
	fi

## Tests (pytest; "no tests ran" is a failure), then the golden-set evaluation gate
test: install-test chromium
	@set +e; $(BIN)/python -m pytest; rc=$$?; set -e; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc
	$(MAKE) --no-print-directory eval

eval: install
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	ASKOLEUS_INDEX_DIR=$$tmp/index $(BIN)/askoleus build && \
	ASKOLEUS_INDEX_DIR=$$tmp/index $(BIN)/askoleus eval eval/golden.jsonl

clean:
	rm -rf $(VENV) index/generations index/CURRENT index/tmp tests/artifacts
