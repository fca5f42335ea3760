-- UNHCR refugee population, and the registry of diaspora institutions, organisations and policies.

CREATE TABLE IF NOT EXISTS dw.fact_refugee_population (
    origin_code     TEXT NOT NULL,          -- dim_country.country_code; UNHCR:ALL = not broken down
    asylum_code     TEXT NOT NULL,          -- dim_country.country_code; UNHCR:ALL = not broken down
    year            INTEGER NOT NULL,
    population_type TEXT NOT NULL,          -- refugees, asylum_seekers, returned_refugees, idps, …
    release_id      BIGINT NOT NULL,
    persons         DOUBLE PRECISION,       -- NULL = not available
    PRIMARY KEY (origin_code, asylum_code, year, population_type, release_id)
);

CREATE TABLE IF NOT EXISTS dw.dim_diaspora_institution (
    country_code TEXT NOT NULL,
    name         TEXT NOT NULL,
    level        TEXT NOT NULL,             -- ministerial | sub-ministerial | other
    role         TEXT,
    status       TEXT NOT NULL,             -- active | inactive
    valid_from   DATE,                      -- founded
    valid_to     DATE,
    source       TEXT NOT NULL,
    PRIMARY KEY (country_code, name)
);

CREATE TABLE IF NOT EXISTS dw.dim_diaspora_organisation (
    country_code      TEXT NOT NULL,        -- the diaspora's country of origin
    name              TEXT NOT NULL,
    host_country_code TEXT NOT NULL,
    activities        TEXT NOT NULL,        -- comma-separated: integration, development, …
    valid_from        DATE,                 -- founded
    valid_to          DATE,
    source            TEXT NOT NULL,
    PRIMARY KEY (country_code, name)
);

CREATE TABLE IF NOT EXISTS dw.fact_diaspora_policy (
    country_code TEXT NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL,             -- law | strategy | agreement | action plan | concept | roadmap | plan
    status       TEXT,
    valid_from   DATE,
    valid_to     DATE,
    source       TEXT NOT NULL,
    PRIMARY KEY (country_code, title)
);

CREATE TABLE IF NOT EXISTS dw.dim_political_rights (
    country_code          TEXT PRIMARY KEY,
    dual_citizenship      TEXT NOT NULL,    -- allowed | restricted | not allowed
    dual_citizenship_with TEXT,             -- comma-separated ISO3 codes, when restricted
    dual_citizenship_since DATE,
    voting_from_abroad    TEXT,
    source                TEXT NOT NULL
);
