# chatsite: `make run` to try it, `make test` to check it (README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# The test suite runs against the local PostgreSQL and Redis, as a role without BYPASSRLS.
TEST_DATABASE_URL ?= postgres://chatsite@127.0.0.1:5432/chatsite
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?= -n 2

.PHONY: install run test check lint typecheck services browser jsdeps scaledeps bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# What running needs, without the development tools (a full `make install` covers it too).
$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test $(VENV)/.installed -nt pyproject.toml || $(BIN)/python -m pip install --quiet -e .
	touch $@

# A development server: DEBUG on unless DJANGO_DEBUG is set, and then it listens on a loopback
# address only. It migrates, seeds, makes CHAT_ADMIN_USERNAME if set, then prints its URL; the
# background worker runs beside it and stops with it.
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.installed-run
	$(BIN)/python manage.py serve --setup --worker --bind $(HOST) --port $(PORT)

services:
	scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

# Browser tests (tests/e2e): Playwright (dev extra) drives Debian's chromium, never a browser
# build of its own; axe-core comes from npm, pinned in tests/e2e/package-lock.json.
CHROMIUM ?= /usr/bin/chromium
E2E_DIR := tests/e2e

browser: $(E2E_DIR)/node_modules/.installed
	test -x $(CHROMIUM) || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	# Colour emoji for reactions and :shortcodes: in browser tests and screenshots.
	test -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null)

NEED_NPM = command -v npm >/dev/null || (apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null)

$(E2E_DIR)/node_modules/.installed: $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	$(NEED_NPM)
	cd $(E2E_DIR) && npm ci --no-audit --no-fund --silent
	touch $@

# Unit tests of static/js (tests/js): Node's built-in runner, started by
# tests/unit/test_js_units.py; linkedom from npm, pinned in tests/js/package-lock.json.
JS_DIR := tests/js

jsdeps: $(JS_DIR)/node_modules/.installed

$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	$(NEED_NPM)
	cd $(JS_DIR) && npm ci --no-audit --no-fund --silent
	touch $@

# The scale-out topology test (tests/integration/test_scale_out.py) starts Debian's nginx and
# pgbouncer on ports of its own; neither runs as a system service for it.
NGINX ?= /usr/sbin/nginx
PGBOUNCER ?= /usr/sbin/pgbouncer

scaledeps:
	test -x $(NGINX) -a -x $(PGBOUNCER) || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx pgbouncer >/dev/null)

test: install services browser jsdeps scaledeps lint typecheck
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest $(PYTEST_ARGS) --cov --cov-report=term $(ARGS)

# The inner loop: lint, types and every test but the browser and live-server ones (no
# coverage gate). `make test` stays the full gate. ARGS narrows it, e.g. ARGS=tests/unit.
check: install services jsdeps lint typecheck
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest $(PYTEST_ARGS) -m "not e2e and not live" $(ARGS)

# Benchmarks (docs/performance.md): each starts its own servers against BENCH_DATABASE_URL
# (created and migrated if missing) and BENCH_REDIS_URL, and prints one JSON summary, kept in
# BENCH_OUT. BENCH_ARGS goes to every script, e.g. BENCH_ARGS="--log-dir /tmp/bench-logs".
BENCH_DATABASE_URL ?= postgres://chatsite@127.0.0.1:5432/chatsite_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/7
BENCH_OUT ?= bench/results
BENCH_FANOUT_SUBSCRIBERS ?= 10,100,1000
BENCH_IDLE_STEPS ?= 0,1000,2000,3000,4000,5000
BENCH_STORM_CLIENTS ?= 5000
BENCH_CHURN_SECONDS ?= 180
BENCH_RUN = $(BIN)/python -m

bench: install services
	mkdir -p $(BENCH_OUT)
	export BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL); \
	$(BENCH_RUN) bench.http_post --clients 50 --rate 100 --rounds 2 --duration 10 --open-seconds 10 \
		$(BENCH_ARGS) > $(BENCH_OUT)/http_post.json && \
	$(BENCH_RUN) bench.ws_fanout --subscribers $(BENCH_FANOUT_SUBSCRIBERS) --steady-seconds 30 \
		$(BENCH_ARGS) > $(BENCH_OUT)/ws_fanout.json && \
	$(BENCH_RUN) bench.ws_idle --steps $(BENCH_IDLE_STEPS) $(BENCH_ARGS) > $(BENCH_OUT)/ws_idle.json && \
	$(BENCH_RUN) bench.ws_storm --clients $(BENCH_STORM_CLIENTS) $(BENCH_ARGS) \
		> $(BENCH_OUT)/ws_storm.json && \
	$(BENCH_RUN) bench.ws_churn --rate 30 --steady 20 --seconds $(BENCH_CHURN_SECONDS) $(BENCH_ARGS) \
		> $(BENCH_OUT)/ws_churn.json
	$(BENCH_RUN) bench.report $(BENCH_OUT) > $(BENCH_OUT)/report.md
	@echo "benchmark summaries: $(BENCH_OUT)/{http_post,ws_fanout,ws_idle,ws_storm,ws_churn}.json;" \
		"tables and verdicts: $(BENCH_OUT)/report.md"

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache .mypy_cache .ruff_cache .coverage
