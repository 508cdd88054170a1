# The entry point for people and CI. `make run` and `make test` work from a bare clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export OPSGRAPH_DATABASE_URL ?= sqlite:///var/opsgraph.db
export OPSGRAPH_INDEX_DIR ?= var/index

.PHONY: install run test lint format schema migrate revision seed reindex bench postgres

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24,<27"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install migrate seed reindex
	@echo "Admin API key for GraphiQL (Headers: {\"Authorization\": \"Bearer <key>\"}):"
	@$(PY) -m app apikey create --role admin --name "make run" 2>/dev/null
	@echo "GraphiQL: http://127.0.0.1:8000/graphql"
	$(PY) -m app serve

# The test suite starts its own PostgreSQL server and needs the Debian package for it.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "installing the postgresql package (the tests start their own server)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: install postgres
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check app tests migrations bench
	$(VENV)/bin/ruff format --check app tests migrations bench

format: install
	$(VENV)/bin/ruff check --fix app tests migrations bench
	$(VENV)/bin/ruff format app tests migrations bench

schema: install
	$(VENV)/bin/strawberry export-schema app.api.sdl:schema --output schema/schema.graphql

migrate: install
	$(PY) -m app migrate

revision: install
	$(VENV)/bin/alembic revision --autogenerate -m "$(m)"

seed: install
	$(PY) -m app seed

reindex: install
	$(PY) -m app reindex

bench: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	$(PY) -m bench.search.fork_choice
	$(PY) bench/search/relevance.py
	$(PY) bench/search/speed.py
	$(PY) -m bench.metrics
	$(PY) bench/segments/count_and_walk.py
	$(PY) -m bench.load.run --backend postgresql
