# Every target creates .venv on first use, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[tensorflow,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/advisor check fixtures/histories/demo_overfitting.json || test $$? -eq 1
	$(BIN)/advisor diagnose fixtures/scripts/overfit_noisy_labels.py || test $$? -eq 1

# Each test trains its own tiny models, so tests run in parallel processes, one per core (at
# most 4: each holds its own TensorFlow); a test group that shares one costly run stays on one.
test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/pytest -x -q --numprocesses=auto --maxprocesses=4 --dist=loadgroup

lint: $(STAMP)
	$(BIN)/ruff check advisor rules tests benchmarks fixtures
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
