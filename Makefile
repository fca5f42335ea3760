# Diaspora data warehouse. The README's two commands: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
BOOTSTRAP := .bootstrap
UV := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

# Project-local Airflow: SQLite metadata in .airflow/, this repo's dags/ and plugins/.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER ?= $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__UNIT_TEST_MODE ?= False
export DIASPORA_DATA_DIR ?= $(CURDIR)/data

SNAPSHOT_URL := file://$(CURDIR)/plugins/diaspora/sources/worldbank_indicators/sample/api
UNHCR_SAMPLE_URL := file://$(CURDIR)/plugins/diaspora/sources/unhcr_refugees/sample/api
IMS_SAMPLE_URL := file://$(CURDIR)/plugins/diaspora/sources/undesa_migrant_stock/sample/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx
KNOMAD_SAMPLE_URL := file://$(CURDIR)/plugins/diaspora/sources/knomad_bilateral_remittances/sample/bilateral_remittance_matrix_2017_extract.xlsx

.PHONY: help secrets install airflow-db deploy demo run test test-fast test-real lint format airflow docs validation-docs clean

help:
	@echo "make demo     run every DAG once on the bundled offline snapshot (DuckDB, no server)"
	@echo "make test     the whole test suite (DuckDB, PostgreSQL, local HTTP servers)"
	@echo "make test-fast  the inner loop: tests/unit and tests/contract on DuckDB (no Airflow, no PostgreSQL)"
	@echo "make test-real  only the full-size acceptance test on the real data (part of make test)"
	@echo "make run      run every DAG once against the live sources"
	@echo "make airflow  Airflow standalone with this project (UI on http://localhost:8080)"
	@echo "make lint     ruff"
	@echo "make docs     build the manual (docs/, MkDocs Material) strictly into site/"
	@echo "make validation-docs  write and open the validation report (offline, from etl.validation_result)"
	@echo "make secrets  write .env for docker-compose.yml with every secret generated (refuses to overwrite)"

$(BOOTSTRAP)/bin/uv:
	@echo "Installing uv into $(BOOTSTRAP)"
	@$(PYTHON) -m venv $(BOOTSTRAP)
	@$(BOOTSTRAP)/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@echo "Installing the locked dependencies into $(VENV) (uv sync --frozen)"
	@$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.synced

$(AIRFLOW_HOME)/airflow.db: | install
	@mkdir -p $(AIRFLOW_HOME)
	@echo "Migrating Airflow's metadata database ($(AIRFLOW_HOME), log in db-migrate.log)"
	@$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/db-migrate.log; exit 1)

airflow-db: $(AIRFLOW_HOME)/airflow.db

# The deploy step: warehouse migrations and reference data once, and the pool of warehouse tasks
# (`diaspora migrate` makes sure the pool exists too).
deploy: airflow-db
	@$(BIN)/diaspora migrate 2>> $(AIRFLOW_HOME)/deploy.log

# The demo's survey files are copied whole just before the run: no need to wait for them to settle.
DEMO_ENV := DIASPORA_WORLDBANK_BASE_URL=$(SNAPSHOT_URL) DIASPORA_UNDESA_IMS_URL=$(IMS_SAMPLE_URL) \
	DIASPORA_UNHCR_BASE_URL=$(UNHCR_SAMPLE_URL) DIASPORA_KNOMAD_MATRIX_URL=$(KNOMAD_SAMPLE_URL) \
	DIASPORA_SURVEY_SETTLE_SECONDS=0

demo: deploy
	@mkdir -p "$(DIASPORA_DATA_DIR)/surveys/inbox"
	@cp snapshots/surveys/tj_lms_2024_*.csv snapshots/surveys/tj_lms_2024_*.sav \
		snapshots/surveys/tj_lms_2024_*.dta "$(DIASPORA_DATA_DIR)/surveys/inbox/"
	@echo "Running every DAG once on the bundled offline snapshot:"
	@$(DEMO_ENV) DIASPORA_SURVEY_SALT="$${DIASPORA_SURVEY_SALT:-$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')}" \
		$(BIN)/diaspora run-dags
	@echo
	@$(BIN)/diaspora report

run: deploy
	@$(BIN)/diaspora run-dags
	@echo
	@$(BIN)/diaspora report

test: install
	$(BIN)/pytest

# The inner loop: offline unit tests and the source contract on DuckDB, in seconds. Airflow is not
# imported (--without-airflow makes an import fail the test) and no PostgreSQL is needed.
test-fast: install
	$(BIN)/pytest tests/unit tests/contract -m "not postgres and not airflow" --without-airflow

test-real: install
	$(BIN)/pytest -m acceptance

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

airflow: deploy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/airflow standalone

# The manual: docs/ and the reference pages plugins/diaspora/docs_site.py generates at build time
# (a MkDocs hook), strict: a broken link or anchor, or a page missing from the nav, fails the build.
# Not --quiet: it hides the warnings that --strict counts, and the build then passes with them.
docs: install
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "The manual: file://$(CURDIR)/site/index.html ($(BIN)/mkdocs serve serves it while you edit)"

# The validation report: every validation result in etl.validation_result, one self-contained page
# (nothing fetched from the internet: it reads offline and air-gapped). GX's own Data Docs, which
# load their styles and scripts from public CDNs, stay under data/data_docs/.
validation-docs: install
	@$(BIN)/diaspora validation-report
	-@$(PYTHON) -m webbrowser -t "file://$(DIASPORA_DATA_DIR)/validation/index.html" > /dev/null 2>&1

clean:
	rm -rf $(VENV) $(BOOTSTRAP) .airflow data/parsed

# The production stack's .env, every secret generated (docker-compose.yml refuses placeholders).
secrets: install
	@if [ -e .env ]; then echo ".env exists: remove it first (its secrets encrypt data already stored)"; exit 1; fi
	@umask 077 && $(BIN)/diaspora secrets > .env
	@echo "wrote .env (mode 600) with every secret generated; keep it out of version control"
