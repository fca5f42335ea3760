-- Core warehouse: schemas, conformed dimensions, release register and load audit.
-- Runs unchanged on DuckDB and PostgreSQL. Statements end with ";" at the end of a line.

CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS dw;
CREATE SCHEMA IF NOT EXISTS etl;
CREATE SCHEMA IF NOT EXISTS reporting;

CREATE TABLE IF NOT EXISTS dw.dim_country (
    -- ISO 3166-1 alpha-3 for countries (user-assigned X.. codes for the few without one),
    -- the World Bank's code for its aggregates; 'M49:<code>' for UN aggregates and residuals.
    country_code         TEXT PRIMARY KEY,
    area_type            TEXT NOT NULL,           -- country | aggregate | residual
    iso2                 VARCHAR(2),
    m49                  INTEGER,
    name                 TEXT NOT NULL,
    name_official        TEXT,
    wb_region_code       TEXT,
    wb_region            TEXT,
    wb_income_group_code TEXT,
    wb_income_group      TEXT,
    un_region            TEXT,
    un_subregion         TEXT,
    is_aggregate         BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS dw.dim_indicator (
    indicator_code TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    unit           TEXT,
    is_percentage  BOOLEAN NOT NULL,
    topic          TEXT,
    publisher      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dw.dim_year (
    year   INTEGER PRIMARY KEY,
    decade INTEGER NOT NULL
);

INSERT INTO dw.dim_year (year, decade)
SELECT y, y - mod(y, 10) FROM generate_series(1950, 2100) AS g(y)
ON CONFLICT (year) DO NOTHING;

CREATE SEQUENCE IF NOT EXISTS dw.source_release_id_seq;

CREATE TABLE IF NOT EXISTS dw.dim_source_release (
    release_id     BIGINT PRIMARY KEY DEFAULT nextval('dw.source_release_id_seq'),
    source         TEXT NOT NULL,           -- pipeline source key (the DAG id)
    publisher      TEXT NOT NULL,
    dataset        TEXT NOT NULL,
    release_label  TEXT,                    -- publisher's release or last-updated date
    release_date   DATE,                    -- release_label as a date, when it is one
    url            TEXT NOT NULL,
    content_sha256 VARCHAR(64) NOT NULL,    -- hash over every raw payload of the release
    fetched_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    licence        TEXT NOT NULL,
    citation       TEXT NOT NULL,
    raw_location   TEXT NOT NULL,           -- landing folder holding the raw files and manifest
    UNIQUE (source, content_sha256)
);

CREATE TABLE IF NOT EXISTS dw.fact_indicator_value (
    country_code   TEXT NOT NULL,
    indicator_code TEXT NOT NULL,
    year           INTEGER NOT NULL,
    release_id     BIGINT NOT NULL,
    value          DOUBLE PRECISION,        -- NULL = not available, never 0
    obs_status     TEXT,
    PRIMARY KEY (country_code, indicator_code, year, release_id)
);

CREATE SEQUENCE IF NOT EXISTS etl.load_run_id_seq;

CREATE TABLE IF NOT EXISTS etl.load_run (
    load_id        BIGINT PRIMARY KEY DEFAULT nextval('etl.load_run_id_seq'),
    source         TEXT NOT NULL,
    dag_id         TEXT,
    run_id         TEXT,
    release_id     BIGINT,
    release_label  TEXT,
    content_sha256 VARCHAR(64),
    status         TEXT NOT NULL,           -- success | skipped | validation_failed | failed
    rows_in        BIGINT,
    rows_loaded    BIGINT,
    started_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    message        TEXT
);

CREATE SEQUENCE IF NOT EXISTS etl.validation_result_id_seq;

CREATE TABLE IF NOT EXISTS etl.validation_result (
    result_id          BIGINT PRIMARY KEY DEFAULT nextval('etl.validation_result_id_seq'),
    source             TEXT NOT NULL,
    suite              TEXT NOT NULL,
    dag_id             TEXT,
    run_id             TEXT,
    content_sha256     VARCHAR(64),
    release_label      TEXT,
    expectation_type   TEXT NOT NULL,
    column_name        TEXT,
    kwargs_json        TEXT NOT NULL,
    success            BOOLEAN NOT NULL,
    unexpected_count   BIGINT,
    unexpected_percent DOUBLE PRECISION,
    observed_value     TEXT,
    sample_values      TEXT,
    validated_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
