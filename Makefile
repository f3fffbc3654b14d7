# The README's commands. Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-thorough test-postgres coverage-summary run bench lint format messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gavel demo

# Every test, on both cores, with the 15 slowest shown and line coverage of the shipped packages (subprocesses
# included). `make test` uses the `dev` hypothesis profile. `make test-thorough` runs again, with the 2,000-example
# profile CI uses, the tests that draw examples (the others would only repeat themselves); CI compares its lines
# with make test's. `make test-postgres` runs the tests that touch the test database on GAVEL_TEST_POSTGRES_URL.
PYTEST_RUN := $(BIN)/pytest -n auto --durations=15 --cov --cov-report=

test: $(STAMP)
	$(PYTEST_RUN)
	@$(MAKE) --no-print-directory coverage-summary

test-thorough: $(STAMP)
	$(PYTEST_RUN) --hypothesis-profile=thorough -m examples
	@$(MAKE) --no-print-directory coverage-summary

test-postgres: $(STAMP)
	@test -n "$$GAVEL_TEST_POSTGRES_URL" || { echo "set GAVEL_TEST_POSTGRES_URL to a throw-away PostgreSQL database"; exit 2; }
	GAVEL_TEST_DATABASE_URL="$$GAVEL_TEST_POSTGRES_URL" $(BIN)/pytest -n auto --durations=15 -m database

coverage-summary:
	@printf 'line coverage:'; for part in bot adapters storage; do \
	  printf ' %s %s %%,' $$part "$$($(BIN)/coverage report --include="$$part/*" --format=total)"; done; \
	  printf ' all %s %%\n' "$$($(BIN)/coverage report --format=total)"

run: $(STAMP)
	$(BIN)/gavel run

bench: $(STAMP)
	$(BIN)/python benchmarks/poller.py
	$(BIN)/python benchmarks/hot_auctions.py
	-@if [ -n "$$GAVEL_BENCH_DATABASE_URL" ]; then $(BIN)/python benchmarks/scale.py; \
	else echo "benchmarks/scale.py skipped: set GAVEL_BENCH_DATABASE_URL to a throw-away PostgreSQL database"; fi
	$(BIN)/python benchmarks/dispatch.py
	$(BIN)/python benchmarks/dashboard.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Extract every marked string into bot/locale/gavel.pot and merge it into each language's .po (README:
# "Adding a language"). NEW_LANGUAGE=xx starts a new language first.
messages: $(STAMP)
	$(BIN)/python -m bot.core.i18n_extract $(if $(NEW_LANGUAGE),--init $(NEW_LANGUAGE))
