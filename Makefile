# Set-up and everyday commands. Everything a fresh machine needs is installed from here.
#   make run    install (first time), build the index if there is none, start the chat page
#   make test   install app + test dependencies (incl. Debian chromium and a CJK font), run every test
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test index system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned: this takes the CPU wheel. An unpinned torch (e.g. pulled in by
# sentence-transformers) would download several GB of CUDA packages.
$(VENV)/.torch: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	touch $@

$(VENV)/.app: $(VENV)/.torch pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

# The tests also exercise the optional LLM backends (against a local stub server) and the recipe
# the benchmark compares with, so they install those extras too.
$(VENV)/.test: $(VENV)/.app pyproject.toml
	$(BIN)/pip install -q -e '.[test,llm,bench]'
	touch $@

# Debian packages: chromium for the browser tests, a CJK font so Chinese renders (not boxes).
system-deps:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "Please install the Debian packages chromium and fonts-noto-cjk (sudo apt-get install -y chromium fonts-noto-cjk)"; exit 1; fi

run: $(VENV)/.app
	$(BIN)/qa serve

index: $(VENV)/.app
	$(BIN)/qa index

test: $(VENV)/.test system-deps
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) vectorstore/chroma.sqlite3 vectorstore/*-*
