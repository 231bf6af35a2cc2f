PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-fast demo lint typecheck wheel-test bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[all,test]"
	touch $(STAMP)

# pytest-xdist: one worker per core; --dist loadgroup keeps tests marked xdist_group(name) on one worker
XDIST := -n auto --dist loadgroup

# every test (slow, subprocess and server ones included), in parallel; what .ci/run runs
test: $(STAMP)
	$(PY) -m pytest -q $(XDIST)

# the in-process tests only, in parallel: the loop while editing (README, "Development")
test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m "not slow and not subprocess and not server"

demo: $(STAMP)
	$(PY) -m chunkflow.demo

# ruff (lint and formatting), mypy on src/, and the structure rules: layers one way (core never imports
# compat) and no module outside chunkflow.files writes a file (`make test` runs these tests too)
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(MAKE) typecheck
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layers.py tests/test_file_writes.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

# build sdist + wheel, install the core wheel offline into a fresh venv, run the smoke checks (.ci/run does this)
wheel-test: $(STAMP)
	PYTHON=$(PY) bash .ci/wheel-test

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b; done

clean:
	rm -rf $(VENV) build *.egg-info
