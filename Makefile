# The README's commands. Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test run bench lint format messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gavel demo

test: $(STAMP)
	$(BIN)/pytest -n auto

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
