# Vigie — the two commands of the README, and a few more.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

export DATABASE_URL ?= sqlite:///./var/vigie.db

.PHONY: run test test-sqlite test-postgres lint openapi bench clean browser

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Set everything up and run Vigie on SQLite with the demo commune: http://127.0.0.1:8000/
run: $(STAMP)
	$(BIN)/vigie db upgrade
	$(BIN)/vigie demo --if-empty
	$(BIN)/vigie serve --host 127.0.0.1 --port 8000

# Debian's chromium drives the browser tests (Playwright needs no browser download then).
BROWSER_PKGS := chromium fonts-liberation fonts-noto-color-emoji
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing $(BROWSER_PKGS) for the browser tests"; \
		apt-get install -y -q $(BROWSER_PKGS) >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(BROWSER_PKGS) >/dev/null 2>&1) || \
		echo "could not install chromium (not root?): the browser tests will be skipped"; \
	fi

## Set everything up and pass the tests: SQLite always, PostgreSQL when it answers.
test: $(STAMP) browser lint
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$CI_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL not reachable at $(PG_TEST_URL) and CI requires it"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL suite skipped"; \
	fi

# ruff's rule set and mypy's baseline (.ci/typecheck): both in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check backend escalation notifications tests bench
	$(BIN)/python .ci/typecheck

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	VIGIE_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q --ignore=tests/browser

openapi: $(STAMP)
	$(BIN)/vigie openapi

bench: $(STAMP)
	$(BIN)/python bench/escalation_lateness.py

clean:
	rm -rf $(VENV) var
