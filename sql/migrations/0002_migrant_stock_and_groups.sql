-- UN DESA International Migrant Stock, the sex dimension and dated country groups.

CREATE TABLE IF NOT EXISTS dw.dim_sex (
    sex   TEXT PRIMARY KEY,   -- both | female | male
    label TEXT NOT NULL
);

INSERT INTO dw.dim_sex (sex, label) VALUES ('both', 'Both sexes'), ('female', 'Female'), ('male', 'Male')
ON CONFLICT (sex) DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_country_group (
    group_code TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    note       TEXT
);

CREATE TABLE IF NOT EXISTS dw.bridge_country_group (
    group_code   TEXT NOT NULL,
    country_code TEXT NOT NULL,
    valid_from   DATE NOT NULL,
    valid_to     DATE,                      -- NULL: still a member
    PRIMARY KEY (group_code, country_code, valid_from)
);

CREATE TABLE IF NOT EXISTS dw.fact_migrant_stock (
    origin_code      TEXT NOT NULL,         -- dim_country.country_code
    destination_code TEXT NOT NULL,         -- dim_country.country_code
    year             INTEGER NOT NULL,
    sex              TEXT NOT NULL,         -- dim_sex.sex
    release_id       BIGINT NOT NULL,
    migrants         DOUBLE PRECISION,      -- NULL = not available, never 0
    data_type        TEXT,                  -- B birth, C citizenship, R refugees added, I imputed
    coverage         TEXT,
    PRIMARY KEY (origin_code, destination_code, year, sex, release_id)
);
