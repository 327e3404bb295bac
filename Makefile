# Sertel: `make run` starts the app with demo data; `make test` runs the whole suite on SQLite.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: setup system frontend run test test-pg test-heavy test-fuzz lint bench bench-data bench-pages bench-load bench-smoke clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system:
	bash scripts/setup-system.sh

frontend:
	bash scripts/build-frontend.sh

setup: $(STAMP) frontend

# The demo: app on http://127.0.0.1:5000 (HOST=… PORT=… to change) and the scheduler; Ctrl+C stops both.
run: setup
	bash scripts/run-demo.sh

# Two processes by default (the machine CI runs on has two cores); TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

test: setup system
	$(PY) -m pytest $(XDIST)

# The same suite against PostgreSQL; point it elsewhere with PG_URL=postgresql+psycopg://user@host:port/db
test-pg: setup system
	SERTEL_DATABASE_URL=$(PG_URL) $(PY) -m pytest $(XDIST)

# The long race (and crash) runs of tests/heavy, on SQLite and then on PostgreSQL (PG_URL as for test-pg).
test-heavy: setup system
	$(PY) -m pytest tests/heavy -s
	SERTEL_DATABASE_URL=$(PG_URL) $(PY) -m pytest tests/heavy -s

# Schemathesis over /api/v1/openapi.json against the app (tests/fuzz): no input gives a 5xx. FUZZ_EXAMPLES
# bounds the examples per operation (100: about a minute and a half on two cores).
FUZZ_EXAMPLES ?= 100
test-fuzz: setup
	$(PY) -m pip install -q 'schemathesis~=4.32'
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/fuzz -q -p no:cacheprovider

# Lint and strict type checks (configured in pyproject.toml) on the packages STYLE.md holds to them.
lint: setup
	$(VENV)/bin/ruff check engine pki handlers
	$(VENV)/bin/ruff format --check engine pki handlers
	$(VENV)/bin/mypy engine pki handlers

# Page benchmark data set (DESTRUCTIVE for the database at BENCH_URL): BENCH_CASES cases, 5,000 people, 60 agencies.
BENCH_URL   ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench
BENCH_CASES ?= 100000
bench-data: setup
	$(PY) bench/datagen.py --url $(BENCH_URL) --cases $(BENCH_CASES)

# Inbox, task API, case page and outbox against their driver floors, on the data set of bench-data.
bench-pages: setup
	$(PY) bench/page_bench.py --url $(BENCH_URL) --runs 3 --requests 30 --explain

# 50 users on the inbox and case pages over HTTP, gunicorn with 1 and 4 workers, on the data set of bench-data.
bench-load: setup
	$(PY) bench/load_bench.py --url $(BENCH_URL) --users 50 --seconds 30 --runs 3

# A small run of each so they never rot (CI): 2,000 cases, 300 people, one short run.
bench-smoke: setup
	$(PY) bench/datagen.py --url $(BENCH_URL)_smoke --cases 2000 --people 300
	$(PY) bench/page_bench.py --url $(BENCH_URL)_smoke --runs 1 --requests 5
	$(PY) bench/load_bench.py --url $(BENCH_URL)_smoke --users 10 --seconds 3 --workers 2 --threads 4
	$(PY) bench/step_bench.py --runs 1 --steps 3
	$(PY) bench/step_bench.py --runs 1 --steps 2 --handlers --background
	$(PY) bench/step_bench.py --url $(BENCH_URL)_smoke_step --runs 1 --steps 3
	$(PY) bench/storage_bench.py --pages 3
	$(PY) bench/audit_stream_bench.py --url $(BENCH_URL)_smoke_step --threads 4 --appends 5 --runs 1

clean:
	rm -rf $(VENV) instance frontend/node_modules engine/web/static/vendor
