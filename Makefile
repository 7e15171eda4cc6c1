# docpipe — two setup commands on a fresh machine:
#   make demo   installs what it needs, starts a local Kafka broker and runs the pipeline end to end
#               on sample documents it generates itself
#   make test   installs what it needs and runs the whole test suite (what .ci/run runs)
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev
# the tests also build tiny models with torch/transformers (train extra)
TEST_EXTRAS ?= dev,train

.PHONY: setup system-deps kafka demo test test-unit lint schemas clean

# no pip cache: the train extra (torch with its CUDA libraries) is several GB, and a cached copy
# of every wheel doubles that on disks that CI machines do not size generously
PIP_INSTALL := $(BIN)/pip install -q --no-cache-dir

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip wheel setuptools

setup: $(BIN)/python
	$(PIP_INSTALL) -e ".[$(EXTRAS)]"
	bash infra/kafka/kafka.sh fetch

# Debian packages used by tests: Java for Kafka, Chromium for browser tests, PostgreSQL server.
system-deps:
	bash infra/system-deps.sh

demo: setup
	$(BIN)/docpipe up --demo --exit-when-done

lint:
	$(BIN)/ruff check pipeline workers tests
	$(BIN)/mypy

test: system-deps
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	$(BIN)/ruff check pipeline workers tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: setup
	$(BIN)/python -m pytest -q tests/unit

schemas: setup
	$(BIN)/docpipe schemas generate

clean:
	rm -rf .docpipe build *.egg-info
