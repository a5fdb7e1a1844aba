# The README's quick start: `make demo` and `make test` on a machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test lint typecheck unit bench bench-smoke clean redis-server

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only the runtime; the tests need the platform libraries and dev tools too.
$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/knowrithm-bots demo

test: $(STAMP) redis-server lint typecheck bench-smoke unit

# The Redis store's tests start their own redis-server; this installs Debian's package where
# it is missing and we may (root with apt-get), without starting its system service.
redis-server:
	@.ci/install-redis-server || echo "redis-server is not installed (apt-get install redis-server): the Redis store tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy examples/webhook-adapter/src/knowrithm_webhook

# In parallel on every core (pytest-xdist). The packaging tests, which build a fresh
# virtualenv, run too; skip them with: make unit PYTEST_ARGS='-m "not packaging"'
unit: $(STAMP)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.streaming
	$(BIN)/python -m benchmarks.bridge
	$(BIN)/python -m benchmarks.real_adapters
	$(BIN)/python -m benchmarks.store_calls

# Both smokes (streaming engine, whole bridge) in about 35 s; one summary line, their full
# output only when one fails.
bench-smoke: $(STAMP)
	@$(BIN)/python -m benchmarks.smoke_summary

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
