# Quick start targets: `make run` and `make test` each set up .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kip protocol show mskcc-2021
	$(BIN)/kip protocol plan examples/plan-infusion-2.json

# Every database test runs twice: on SQLite, then on PostgreSQL (127.0.0.1:5432).
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/kip

test: $(STAMP)
	scripts/postgres-up
	$(BIN)/python -m pytest -q
	KIP_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -m django_db

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
