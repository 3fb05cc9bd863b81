# make run   — virtualenv + pinned dependencies, then the service on the embedded
#              PostgreSQL with demo data (http://127.0.0.1:8000)
# make test  — the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV_VERSION := 0.13.9

.PHONY: install run test lint format bench openapi client client-lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/bloomer-ai serve --demo

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The committed contract (tests fail when the app's document drifts from it).
openapi: install
	$(BIN)/bloomer-ai openapi > openapi.json

# The TypeScript client: types from openapi.json, then the build (tests fail on drift).
client: openapi
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate && npm run build

# Re-pin the client's npm packages after changing clients/typescript/package.json: the
# lock keeps versions and integrity hashes, no URL.
client-lock:
	cd clients/typescript && node scripts/lock-without-urls.mjs

# Re-pin after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --no-emit-index-url --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
