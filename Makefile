# VoiceAssist developer commands. `make help` lists them.
# Every target that needs Python first runs scripts/bootstrap.sh (idempotent), so a fresh
# clone needs nothing but `make up` or `make test`.

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
MYPY_PACKAGES := $(foreach p,$(notdir $(patsubst %/,%,$(dir $(wildcard services/*/src/voiceassist_*/__init__.py deploy/local/src/voiceassist_*/__init__.py)))),-p $(p))
TEST_DIRS := $(wildcard services/*/tests deploy/local/tests tests/integration tests/deploy tests/bench)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: bootstrap
bootstrap: ## Install Debian packages, uv, the .venv from uv.lock and build the web client (idempotent)
	@scripts/bootstrap.sh
	@scripts/web.sh

.PHONY: up
up: bootstrap ## Run the whole platform locally (embedded PostgreSQL + NATS, every service)
	@$(PY) -m voiceassist_localstack up

.PHONY: down
down: ## Stop everything `make up` started
	@if [ -x $(PY) ]; then $(PY) -m voiceassist_localstack down; else echo "nothing to stop"; fi

.PHONY: status
status: ## Show what the local platform is running
	@$(PY) -m voiceassist_localstack status

.PHONY: test
test: bootstrap ## `make check`, then the web client's tests, unit + integration + browser tests
	@$(MAKE) --no-print-directory check
	@cd web && npx --no-install vitest run
	@$(VENV)/bin/pytest

.PHONY: test-unit
test-unit: bootstrap ## Only the tests that need no server
	@$(VENV)/bin/pytest -m "not integration and not stack"

.PHONY: check
check: bootstrap ## Format, lint, types, and the generated-code staleness check
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy $(MYPY_PACKAGES)
	@for dir in $(TEST_DIRS) tests/e2e bench; do \
	  if ls $$dir/*.py >/dev/null 2>&1 || ls $$dir/*/*.py >/dev/null 2>&1; then \
	    $(VENV)/bin/mypy $$dir || exit 1; fi; done
	@$(PY) scripts/proto.py check
	@cd web && npx --no-install tsc -b

.PHONY: fmt
fmt: bootstrap ## Format and autofix lint findings
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

.PHONY: proto
proto: bootstrap ## Regenerate gRPC code from proto/ (never edit the output by hand)
	@$(PY) scripts/proto.py generate

.PHONY: lock
lock: ## Re-resolve uv.lock after changing a pyproject.toml
	@scripts/bootstrap.sh >/dev/null || true
	@UV_PYTHON_DOWNLOADS=never .cache/uv/bin/uv lock

.PHONY: bench
bench: bootstrap ## Run the benchmark scripts in bench/ (each prints its figures)
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "bench/ holds no benchmark scripts yet"; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(PY) "$$script" || exit 1; done

.PHONY: e2e
e2e: bootstrap ## Browser tests in tests/e2e (headless Debian chromium)
	@shopt -s nullglob; tests=(tests/e2e/test_*.py); \
	if [ $${#tests[@]} -eq 0 ]; then echo "tests/e2e holds no browser tests yet (issue 7)"; \
	else $(VENV)/bin/pytest tests/e2e; fi

.PHONY: clean
clean: down ## Stop the platform and delete local data (.data/) and caches
	rm -rf .data .mypy_cache .ruff_cache .pytest_cache
