# tracespace: `make demo` and `make test` set up .venv when needed (only Python is required).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench fuzz clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing tracespace into $(VENV) (first run only)..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,postgres]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@$(BIN)/tracespace demo

lint: $(STAMP)
	@$(BIN)/ruff check .

test: $(STAMP) lint
	@$(BIN)/python -m pytest

BENCHES ?= ledger identifiers events records contracts

# Each script prints ratios against a floor measured in the same run and appends a dated
# section to docs/benchmarks.md. `make bench BENCHES=ledger` runs one.
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

# A longer schemathesis run over every operation of the node's OpenAPI document.
fuzz: $(STAMP)
	@TRACESPACE_FUZZ_EXAMPLES=100 TRACESPACE_FUZZ_NEGATIVE_EXAMPLES=25 \
		$(BIN)/python -m pytest tests/hardening/test_schemathesis.py -p no:cacheprovider

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache
