-- The bilateral remittance model follows the World Bank/KNOMAD published method (#25): two methods,
-- stock_shares and published_method (migrants weighted by incomes per head in PPP), replace the
-- three of 0015. Its rules are reference data (reference/remittance_corridors.yml), synced by
-- diaspora migrate. The mart tables are derived: dropped and recreated empty here, refilled by
-- the reporting layer's refresh that diaspora migrate runs after the reference sync.

CREATE TABLE IF NOT EXISTS dw.remittance_model_parameter (
    name   TEXT PRIMARY KEY,
    value  DOUBLE PRECISION NOT NULL,
    why    TEXT NOT NULL,
    source TEXT NOT NULL              -- the reference file it comes from
);

-- Corridors the model does not estimate, following the publisher ('-' in its matrix).
CREATE TABLE IF NOT EXISTS dw.remittance_corridor_exclusion (
    origin_code      TEXT NOT NULL,   -- the country receiving the remittances
    destination_code TEXT NOT NULL,   -- the country sending them
    why              TEXT NOT NULL,
    source           TEXT NOT NULL,
    PRIMARY KEY (origin_code, destination_code)
);

-- Countries whose emigrants UN DESA counts within another country (Kosovo within Serbia).
CREATE TABLE IF NOT EXISTS dw.remittance_stock_proxy (
    country_code TEXT PRIMARY KEY,
    proxy_code   TEXT NOT NULL,
    why          TEXT NOT NULL,
    source       TEXT NOT NULL
);

DROP TABLE IF EXISTS mart.remittance_corridors CASCADE;
CREATE TABLE mart.remittance_corridors (
    origin_code                TEXT NOT NULL,    -- the country receiving the remittances
    origin_name                TEXT,
    destination_code           TEXT NOT NULL,    -- where its emigrants live and send from
    destination_name           TEXT,
    destination_area_type      TEXT,
    year                       INTEGER NOT NULL,
    stock_shares_usd           DOUBLE PRECISION,
    published_method_usd       DOUBLE PRECISION,
    stock_shares_rank          BIGINT,
    published_method_rank      BIGINT,
    origin_inflow_usd          DOUBLE PRECISION,
    migrants                   DOUBLE PRECISION,
    stock_basis                TEXT,             -- 'UN DESA <year>', 'interpolated <from>-<to>', 'held from UN DESA <year>'
    stock_proxy_code           TEXT,             -- the country whose emigrants stand in (Kosovo: SRB)
    host_income_per_head_ppp   DOUBLE PRECISION, -- NY.GDP.PCAP.PP.KD of the destination
    origin_income_per_head_ppp DOUBLE PRECISION, -- NY.GDP.PCAP.PP.KD of the origin
    income_imputed             BOOLEAN,          -- an income was missing (published_method)
    inflow_release             TEXT,
    stock_release              TEXT,
    income_release             TEXT
);

-- The model against the World Bank/KNOMAD published matrices (sql/mart/08 and 09).
CREATE TABLE IF NOT EXISTS mart.published_remittance_comparison (
    origin_code          TEXT NOT NULL,     -- the country receiving the remittances
    origin_name          TEXT,
    destination_code     TEXT NOT NULL,     -- the country sending them
    destination_name     TEXT,
    year                 INTEGER NOT NULL,  -- the year of the published edition's estimates
    published_release    TEXT,
    published_status     TEXT,              -- 'estimated' or 'not_estimated' (the publisher's '-')
    published_usd        DOUBLE PRECISION,
    published_share_pct  DOUBLE PRECISION,  -- of the receiving country's published WORLD total
    method               TEXT NOT NULL,     -- the model's: stock_shares or published_method
    model_status         TEXT,              -- 'estimated', 'excluded', 'observed inflow is zero', 'no model estimate for the year'
    model_usd            DOUBLE PRECISION,
    model_share_pct      DOUBLE PRECISION,  -- of the observed inflow the model shares out
    difference_usd       DOUBLE PRECISION,  -- model - published
    share_difference_pp  DOUBLE PRECISION,  -- model share - published share, percentage points
    value_kind           TEXT,
    stock_basis          TEXT,
    inflow_release       TEXT,
    stock_release        TEXT
);

CREATE TABLE IF NOT EXISTS mart.published_remittance_accuracy (
    published_release        TEXT,
    year                     INTEGER NOT NULL,
    method                   TEXT NOT NULL,
    min_published_usd        DOUBLE PRECISION,
    corridors_published      BIGINT,
    corridors_compared       BIGINT,
    median_abs_difference_pp DOUBLE PRECISION,
    p90_abs_difference_pp    DOUBLE PRECISION,
    within_5pp_pct           DOUBLE PRECISION,
    value_kind               TEXT
);
