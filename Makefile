# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
PYTHON ?= python3
export FLASK_APP := wsgi
export INTRANET_DEMO ?= 1
PORT ?= 5000
export PORT

.PHONY: install run test lint bench bench-full translations clean-assets

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

intranet/static/vendor/.installed: node_modules/.installed scripts/vendor_assets.py $(VENV)/.installed
	$(PY) scripts/vendor_assets.py
	touch $@

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -d intranet/translations

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

## install: everything `make run` does before serving (venv, assets, translations, database, demo data)
install: $(VENV)/.installed intranet/static/vendor/.installed translations instance/secret_key
	$(FLASK) db upgrade
	$(FLASK) setup

## run: set everything up, then serve http://127.0.0.1:$(PORT) with the worker beside it
run: install
	scripts/run.sh

## test: the whole suite (SQLite and browser; PostgreSQL too when INTRANET_TEST_POSTGRES_URL is set)
test: $(VENV)/.installed intranet/static/vendor/.installed translations
	scripts/test.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

## bench: every benchmark at a reduced scale, each figure beside its target
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)  # the ceiling's load generator
	$(PY) -m bench --scale small

bench-full: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench --scale full
