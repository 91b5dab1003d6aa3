# gpscale: every target sets itself up (virtual environment + install) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# axe-core (MPL-2.0) for the accessibility checks of the browser tests, from npm, outside the repository
AXE    := $(VENV)/node/node_modules/axe-core/axe.min.js
EXTRAS ?= dev,spark,web,pdf,browser

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gpscale needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

## make demo: generate synthetic England, ingest, compute, evaluate and write the report to out/
demo: $(STAMP)
	$(VENV)/bin/gpscale demo --out out

$(AXE):
	-command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix $(VENV)/node axe-core@4.10

## make test: lint, type-check and run every test kind (real-data tests skip if ../shared/data is absent;
## browser tests skip without chromium, their axe-core checks without npm)
test: $(STAMP) lint $(AXE)
	$(PY) -m pytest -q -n 2 --dist loadfile

## make bench: run the benchmarks, write bench-results/*.json (summarised in BENCHMARKS.md)
bench: $(STAMP)
	$(PY) -m tests.bench.run

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf out bench-results .pytest_cache .mypy_cache .ruff_cache
