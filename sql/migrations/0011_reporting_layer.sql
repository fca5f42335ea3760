-- The reporting layer computed at load: the `mart` schema holds what the `reporting` views read,
-- refreshed in the transaction of each source's load (plugins/diaspora/warehouse/mart.py), so a
-- BI query reads stored rows instead of recomputing window functions over every fact.
--
-- Row-level views (indicator_values, migrant_stock, refugee_population) read the fact table
-- through mart.current_release; aggregated views read one table each. Tables are written in the
-- order of the filters BI tools use (country, then year): DuckDB skips row groups by their
-- min/max, PostgreSQL gets indexes (0012).

CREATE SCHEMA IF NOT EXISTS mart;

-- The releases whose rows the reporting views show, per fact table. Rank 1 is the newest; an older
-- release stays (rank 2, 3, …) only while it holds a value that no newer release carries.
CREATE TABLE IF NOT EXISTS mart.current_release (
    fact_table   TEXT NOT NULL,
    release_id   BIGINT NOT NULL,
    release_rank INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS mart.remittances (
    country_code                 TEXT NOT NULL,
    country_name                 TEXT,
    is_aggregate                 BOOLEAN,
    year                         INTEGER NOT NULL,
    remittances_received_usd     DOUBLE PRECISION,
    remittances_received_pct_gdp DOUBLE PRECISION,
    remittances_paid_usd         DOUBLE PRECISION,
    gdp_usd                      DOUBLE PRECISION,
    release_label                TEXT,
    source_publisher             TEXT,
    source_dataset               TEXT,
    licence                      TEXT
);

CREATE TABLE IF NOT EXISTS mart.emigrants_by_destination (
    origin_code               TEXT NOT NULL,
    origin_name               TEXT,
    destination_code          TEXT NOT NULL,
    destination_name          TEXT,
    destination_area_type     TEXT,
    year                      INTEGER NOT NULL,
    sex                       TEXT NOT NULL,
    migrants                  DOUBLE PRECISION,
    origin_total              DOUBLE PRECISION,
    share_of_origin_total_pct DOUBLE PRECISION,
    destination_rank          BIGINT,
    release_label             TEXT,
    licence                   TEXT
);

CREATE TABLE IF NOT EXISTS mart.emigrants_in_group (
    origin_code                   TEXT NOT NULL,
    origin_name                   TEXT,
    group_code                    TEXT NOT NULL,
    year                          INTEGER NOT NULL,
    sex                           TEXT NOT NULL,
    migrants                      DOUBLE PRECISION,
    origin_total                  DOUBLE PRECISION,
    share_of_origin_total_pct     DOUBLE PRECISION,
    member_destinations_with_data BIGINT,
    release_label                 TEXT
);

CREATE TABLE IF NOT EXISTS mart.diaspora_profile (
    country_code                 TEXT NOT NULL,
    country_name                 TEXT,
    year                         INTEGER NOT NULL,
    emigrants                    DOUBLE PRECISION,
    female_emigrants             DOUBLE PRECISION,
    male_emigrants               DOUBLE PRECISION,
    female_pct                   DOUBLE PRECISION,
    male_pct                     DOUBLE PRECISION,
    population                   DOUBLE PRECISION,
    population_year              INTEGER,
    emigrants_pct_of_population  DOUBLE PRECISION,
    top_destinations             TEXT,
    eea_emigrants                DOUBLE PRECISION,
    eea_pct_of_emigrants         DOUBLE PRECISION,
    eea_female_pct               DOUBLE PRECISION,
    eea_male_pct                 DOUBLE PRECISION,
    remittances_year             INTEGER,
    remittances_received_usd     DOUBLE PRECISION,
    remittances_received_pct_gdp DOUBLE PRECISION,
    stock_release                TEXT,
    population_release           TEXT,
    remittances_release          TEXT
);

CREATE TABLE IF NOT EXISTS mart.refugees (
    country_code          TEXT NOT NULL,
    country_name          TEXT,
    year                  INTEGER NOT NULL,
    refugees_from         DOUBLE PRECISION,
    asylum_seekers_from   DOUBLE PRECISION,
    refugees_hosted       DOUBLE PRECISION,
    asylum_seekers_hosted DOUBLE PRECISION,
    stateless_hosted      DOUBLE PRECISION,
    release_label         TEXT
);

-- What each load refreshed in mart: {"mart.x": {"rows": n, "seconds": s}, …}.
ALTER TABLE etl.load_run ADD COLUMN reporting_refresh TEXT;
