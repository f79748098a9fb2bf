# The README's verbs. `make setup` once on a fresh machine, then any target.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
STACKS := $(patsubst Pulumi.%.yaml,%,$(filter-out Pulumi.yaml,$(wildcard Pulumi.*.yaml)))
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps dev plan plans test lint bench clean

## setup: system packages (ffmpeg) and the pinned Python environment in .venv
setup: system-deps $(VENV)/.installed

system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || \
	  { echo "installing ffmpeg (Debian package)"; $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; }

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

## dev: the local stack (S3 emulator, signer API, CDN, ffmpeg processor) until Ctrl-C; HOST=0.0.0.0 for the LAN
HOST ?= 127.0.0.1
dev: $(VENV)/.installed
	@$(PY) -m local.processor check-tools
	$(PY) -m local --host $(HOST)

## plan: the offline plan of one stack (STACK=dev) -> build/plan-$(STACK).json
plan: $(VENV)/.installed
	$(PY) -m infra.plan --stack $(STACK)

## plans: the offline plans of every stack
plans: $(VENV)/.installed
	@for stack in $(STACKS); do $(PY) -m infra.plan --stack $$stack || exit 1; done

## lint: ruff (lint + format) and mypy
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## test: lint, then the whole test suite
test: lint
	$(PY) -m pytest -q

## bench: the benchmarks, printed as figures and ratios
bench: $(VENV)/.installed
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis
