# Every target sets up its own virtual environment, so each works on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo embed test lint typecheck bench check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## Installs once, and again when the package's declaration changes (not on every target: a
## reinstall takes a minute or more on a busy machine).
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	@echo "Installing metricscore and its dependencies into $(VENV) (a minute or more, once)..."
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@echo "Installed: $(VENV)/bin/metricscore, $(VENV)/bin/python"
	touch $@

setup: $(VENV)/.installed

## The main job on the embedded default: the reference server on a fresh SQLite file, a demo key,
## and requests as the PostHog docs make them.
demo: setup
	$(BIN)/python examples/server_demo.py

## The library embedded in a program, without a server.
embed: setup
	$(BIN)/python examples/quickstart.py

## Every test. Server-backed tests run when METRICSCORE_TEST_POSTGRESQL_URL / _MYSQL_URL are set.
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks

check: lint typecheck test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
