# `make demo` and `make test` set everything up themselves on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# sam build needs python3.13 on PATH; the venv provides it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

.PHONY: venv demo up test test-fast guarantees lint build bench clean

venv:
	@bash scripts/bootstrap.sh

demo: venv
	$(PY) -m localcloud demo

up: venv
	$(PY) -m localcloud up

# lint-imports holds the architecture (pyproject.toml's [tool.importlinter] contracts); it
# finds the packages where pytest does (pyproject.toml's `pythonpath`).
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	PYTHONPATH=layers/shared:functions/uredis:functions/tencent:clients/python:. \
		$(VENV)/bin/lint-imports --no-cache --no-logo

# One tier at a time, so progress shows per tier; two workers, each with its own local
# cloud; whole files per worker, so that a module's fixtures (sam build, the TLS proxy) are
# made once.
TIERS := unit integration e2e
test: lint
	@set -e; for tier in $(TIERS); do \
		echo "== $$tier tests"; \
		$(PY) -m pytest -n 2 --dist loadfile -q -m $$tier; \
	done

guarantees: venv
	$(PY) -m pytest tests/e2e/test_crash_points*.py \
		tests/e2e/test_provider_faults.py \
		tests/e2e/test_hostile_input.py tests/e2e/test_secrecy.py tests/e2e/test_concurrency.py \
		tests/e2e/test_trust_boundary.py tests/e2e/test_edits_during_rotation.py \
		tests/integration/test_api_tls.py tests/integration/test_redis_tls.py \
		tests/integration/test_template_iam.py tests/e2e/test_built_artifact.py \
		tests/e2e/test_repair_crash_points.py tests/e2e/test_repair_crash_sample.py tests/e2e/test_repair.py

test-fast: venv
	$(PY) -m pytest -m "unit"

build: venv
	sam build --template-file template.yaml --build-dir .aws-sam/build

bench: venv
	$(PY) -m bench

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache bench-results
