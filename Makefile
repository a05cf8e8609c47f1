# drkit developer entry points. Every target installs what it needs first (into .venv), so on a fresh
# machine `make run` and `make test` are all it takes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run validate test lint docs bench clean

setup: $(STAMP)

# Reinstall when the pinned dependencies change.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# The main job on the built-in local default: validate every stack and print the report.
run: validate

validate: setup
	$(BIN)/drkit validate

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests policies benchmarks
	$(BIN)/ruff format --check src tests policies benchmarks
	$(BIN)/mypy
	$(BIN)/python -m drkit.docgen --check

docs: setup
	$(BIN)/python -m drkit.docgen

bench: setup
	$(BIN)/python benchmarks/validate_stacks.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
