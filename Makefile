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

# A disposable demo registry of its own, rebuilt on every run: never var/kip.sqlite3.
DEMO_DB := var/demo.sqlite3
DEMO_URL := sqlite:///$(CURDIR)/$(DEMO_DB)

run: $(STAMP)
	mkdir -p var && rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).writer-lock
	@pw=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))'); \
	KIP_ADMIN_PASSWORD=$$pw $(BIN)/kip init --username admin --database-url $(DEMO_URL) \
	&& KIP_DEMO_PASSWORD=$$pw $(BIN)/kip demo --database-url $(DEMO_URL) \
	&& $(BIN)/kip report --engine '$(DEMO_URL)?prefix=analysis_' --site main --to 2020-12-31 \
	&& $(BIN)/kip reproduce --engine '$(DEMO_URL)?prefix=analysis_' --site main \
		--to 2020-12-31 --format json | $(BIN)/python -c 'import json,sys; \
		s=json.load(sys.stdin)["summary"]; print("kip reproduce on the demo registry (study site, to 2020):", \
		"{figures} published figures, {match} match, {explained} explained, {unexplained} unexplained".format(**s))' \
	&& echo "sign in at http://127.0.0.1:8000/login/ as nurse, physician, researcher or admin" \
		"(or <role>.north) with password $$pw" \
	&& $(BIN)/kip serve --database-url $(DEMO_URL)

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
