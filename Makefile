# The two set-up commands of the README are `make run` and `make test`; both install on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/beyondpay serve

test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup --durations=40

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy src
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/payments.py
	$(BIN)/python bench/risk.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/psp.py

clean:
	rm -rf $(VENV) .beyondpay .pytest_cache .mypy_cache .ruff_cache .hypothesis
