# The README's verbs. `make setup` once on a fresh machine, then any target.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
STACKS := $(patsubst Pulumi.%.yaml,%,$(filter-out Pulumi.yaml,$(wildcard Pulumi.*.yaml)))
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps dev verify token plan plans plans-check cdn-config docs docs-check test lint bench clean

## setup: system packages (ffmpeg, chromium, node), the pinned Python environment in .venv, npm packages (hls.js, Uppy, esbuild)
setup: system-deps $(VENV)/.installed node_modules/.installed

system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || \
	  { echo "installing ffmpeg (Debian package)"; $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; }
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || \
	  { echo "installing python3-venv (Debian package)"; $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv >/dev/null; }
	@# The browser tests: Debian's Chromium (driven by Playwright, which downloads no browser) and
	@# npm for hls.js.
	@command -v chromium >/dev/null || \
	  { echo "installing chromium (Debian package)"; $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@command -v npm >/dev/null || \
	  { echo "installing nodejs and npm (Debian packages)"; $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

# hls.js, Uppy and esbuild for the browser tests, exactly as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## dev: the local stack (S3 emulator, signer API, CDN, ffmpeg processor) until Ctrl-C; HOST=0.0.0.0 for the LAN
HOST ?= 127.0.0.1
dev: $(VENV)/.installed
	@$(PY) -m processor check-tools
	$(PY) -m local --host $(HOST)

## verify: the seed's Verify step against a running stack: sign a generated HLS sample, PUT it, wait for
## complete, read it through the CDN (CORS, ETag, Cache-Control, Range), delete it; one line per step.
## CONFIG=<cdn_config.json> (default the local stack's), TOKEN=<JWT> to sign as a user
CONFIG ?= .local/cdn_config.json
verify: $(VENV)/.installed
	$(PY) -m tools.verify --config $(CONFIG)

## token: a bearer token for the local stack (SUB=alice): curl -H "Authorization: Bearer $$(make -s token)"
SUB ?= local-user
token: $(VENV)/.installed
	@$(PY) -m local token --sub $(SUB)

## plan: the offline plan of one stack (STACK=dev) -> build/plan-$(STACK).json
plan: $(VENV)/.installed
	$(PY) -m tools.plan --stack $(STACK)

## plans: the offline plans of every stack -> plans/<stack>.json (committed: review shows their diff)
plans: $(VENV)/.installed
	@rm -f plans/*.json
	@for stack in $(STACKS); do $(PY) -m tools.plan --stack $$stack --out plans/$$stack.json || exit 1; done

## plans-check: fail when the committed plans/ differ from what the code plans now (pytest checks it too)
plans-check: $(VENV)/.installed
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for stack in $(STACKS); do $(PY) -m tools.plan --stack $$stack --out $$tmp/$$stack.json >/dev/null || exit 1; done; \
	if ! diff -ru plans "$$tmp"; then echo "plans are out of date: run make plans and commit" >&2; exit 1; fi; \
	echo "plans/ is up to date ($(STACKS))"

## cdn-config: the app's cdn_config.json from a stack's outputs (STACK=dev; OUTPUTS=saved.json; OUT=path)
cdn-config: $(VENV)/.installed
	$(PY) -m tools.cdn_config --stack $(STACK) $(if $(OUTPUTS),--outputs $(OUTPUTS)) $(if $(OUT),--out $(OUT))

## docs: regenerate the generated parts of docs/ (OpenAPI + media table from media.py, the alarm table)
docs: $(VENV)/.installed
	$(PY) -m tools.gen_docs
	$(PY) -m tools.alarm_table

## docs-check: fail when a generated part of docs/ is stale (pytest checks it too)
docs-check: $(VENV)/.installed
	$(PY) -m tools.gen_docs --check
	$(PY) -m tools.alarm_table --check

## lint: ruff (lint + format) and mypy
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## test: lint, then the whole test suite (which also fails when plans/ or a generated doc is stale:
## tests/infra/test_stacks.py, tests/signer/test_gen_docs.py, tests/tools/test_alarm_table.py)
test: lint
	$(PY) -m pytest -q -n 2 --dist loadfile

## bench: the benchmarks, printed as figures and ratios
bench: $(VENV)/.installed
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis
