# One entry point for every task; CI calls `make test` through .ci/run.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
DATA ?= data
PORT ?= 8000

.PHONY: install run test bench compile lint clean postgres browser

install: $(PIP_STAMP) $(NPM_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(PIP_STAMP): pyproject.toml verifiers/_base45_c.c verifiers/_base45.h verifiers/_rn1_c.c | $(PY)
	@# zlib's header, for the verifier's C token reader (verifiers/_rn1_c.c)
	@test -f /usr/include/zlib.h || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zlib1g-dev >/dev/null; }
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: install everything, create a demo node in ./data on first run, and serve it
run: install
	@if [ ! -f "$(DATA)/regnode.toml" ]; then $(VENV)/bin/regnode init --demo --data "$(DATA)"; fi
	$(VENV)/bin/regnode serve --data "$(DATA)" --port $(PORT)

## test: install the test tooling and run the whole suite
test: install postgres browser
	$(PY) -m pytest

## bench: measure throughput, gas and sizes; writes bench/results/latest.json
bench: install
	$(PY) -m bench.run

## compile: recompile the contracts into node/chain/artifacts
compile: $(NPM_STAMP) $(PIP_STAMP)
	$(PY) scripts/compile_contracts.py

lint: install
	$(VENV)/bin/ruff check ledger node verifiers cli tests bench scripts

# The local PostgreSQL the integration tests use (127.0.0.1:5432, database `test`).
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	fi

# Debian's chromium for the browser test of the verifier page (no browser downloads).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
