# Two commands matter: `make up` (install and start the platform) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SDK_VENV := .venv-sdk

.PHONY: up test install install-dev sdk-venv frontend system-deps lint bench clean

up: install frontend
	scripts/system-deps.sh up
	$(PY) manage.py up

test: install-dev sdk-venv frontend
	scripts/system-deps.sh test
	scripts/test.sh

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[ml]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e ".[ml,dev]"
	touch $@

# The invocation SDK pins an old protobuf, so it lives in a virtualenv of its own.
sdk-venv: $(SDK_VENV)/.installed

$(SDK_VENV)/.installed:
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install -q eas-prediction
	touch $@

# The console's browser packages, from the npm registry (copied into a git-ignored static folder).
frontend: node_modules/.installed

node_modules/.installed: package.json package-lock.json frontend/build.py
	scripts/system-deps.sh node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev sdk-venv
	for b in tests/bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(SDK_VENV) node_modules frontend/static/frontend/vendor var/test
