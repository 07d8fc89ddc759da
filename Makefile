# Two commands do all set-up on a fresh clone:
#   make run    bootstrap .venv, run the dev stack's pipeline locally (s3ep simulate --stack dev)
#   make test   bootstrap .venv, run lint and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck schema docs dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/s3ep simulate --stack dev --objects 40 --report out/dev/simulation.html

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/s3ep schema --out schema/s3ep-processor.schema.json

docs: $(STAMP)
	$(BIN)/python -m s3ep_pulumi.local.docgen
	$(BIN)/python -m s3ep_pulumi.local.security_docs

# The wheel and sdist a release uploads, checked as PyPI will. A stale egg-info would feed its
# old file list into the sdist, so it goes first.
dist: $(STAMP)
	rm -rf dist s3ep_pulumi.egg-info
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) build dist out s3ep_pulumi.egg-info .pytest_cache .ruff_cache .mypy_cache
