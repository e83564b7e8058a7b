# Two commands from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORTAL_PORT ?= 8000
SANDBOX_PORT ?= 8001

# The first interpreter that actually runs and is >= 3.12 (pyenv shims exist but may fail).
PYTHON ?= $(shell for c in python3.13 python3.12 \
	"$$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python3.13" \
	"$$(pyenv root 2>/dev/null)/versions/3.12.1/bin/python3.12" \
	$$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null) python3; do \
	  "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$c"; break; }; \
	done)

.PHONY: run test lint check install lock bootstrap e2e smoke chromium bench clean test-sdk test-sandbox test-portal test-portal-sqlite

$(VENV)/.installed: requirements/dev.txt sdk/pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found (tried python3.13, python3.12, pyenv, python3)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e ./sdk
	@touch $@

install: $(VENV)/.installed

# Re-lock after editing a requirements/*.in file: exact versions with hashes, the runtime locks
# first (dev.in is constrained to them, so CI tests what a deployment installs).
PIP_COMPILE = $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: install
	cd requirements && ../$(PIP_COMPILE) -o portal.txt portal.in && ../$(PIP_COMPILE) -o sandbox.txt sandbox.in \
	  && ../$(PIP_COMPILE) -o dev.txt dev.in

bootstrap: install
	$(PY) scripts/bootstrap.py --portal-port $(PORTAL_PORT) --sandbox-port $(SANDBOX_PORT)

# The Procfile's processes under honcho; the banner comes once they answer, a dead one is named.
run: bootstrap
	@$(PY) scripts/run.py --portal-port $(PORTAL_PORT) --sandbox-port $(SANDBOX_PORT)

# mypy in three runs: the SDK (strict, no Django), the sandbox and the portal, each Django project
# with its own settings module (the portal's run is configured in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file sdk/pyproject.toml sdk/novacron
	$(BIN)/mypy --config-file sandbox/mypy.ini
	$(BIN)/mypy

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m sandbox makemigrations --check --dry-run
	DJANGO_ENV=production SECRET_KEY=check-only-$$(date +%s)-not-a-real-key-0123456789abcdefghijklmnopqrstuvwxyz \
	  TOKEN_ENCRYPTION_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	  ALLOWED_HOSTS=portal.example.com $(PY) manage.py check --deploy --fail-level WARNING

# Every suite; under CI (DATABASE_URL set) the portal's unit tests also run once on the embedded
# default (SQLite + filesystem broker), so both configurations stay covered. Last, the production
# smoke test.
test: lint check test-sdk test-sandbox test-portal test-portal-sqlite smoke

# Debian's chromium for the browser tests, installed when missing (the same script as .ci/run's).
chromium:
	@scripts/ensure-chromium.sh

test-sdk: install
	$(BIN)/pytest sdk/tests -q

test-sandbox: install
	$(BIN)/pytest sandbox/tests --ds=sandbox.settings -q

test-portal: install chromium
	$(BIN)/pytest -q --ignore=tests/smoke

test-portal-sqlite: install
	@if [ -n "$$DATABASE_URL$$REDIS_URL" ]; then \
	  echo "== portal unit tests on the embedded default (SQLite, filesystem broker)"; \
	  env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -q -m "not browser and not integration"; \
	fi

e2e: install chromium
	$(BIN)/pytest tests/e2e -q

# The portal under production settings (collectstatic, DEBUG off, uvicorn with two workers, a Celery
# worker and beat), used in Chromium: no 5xx, no console error, no raw template syntax, cached static.
smoke: install chromium
	$(BIN)/pytest tests/smoke -q

# Every benchmark on the embedded default and, when PostgreSQL and Redis answer on 127.0.0.1 (or
# BENCH_DATABASE_URL / BENCH_REDIS_URL name others), on PostgreSQL + Redis too, each in a database of its own.
bench: install
	@for b in $(filter-out bench/trivial_% bench/timing.py,$(wildcard bench/*.py)); do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache

print-python:
	@echo $(PYTHON)
