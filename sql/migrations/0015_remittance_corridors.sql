-- Bilateral remittance estimates (Ratha–Shaw): MODEL ESTIMATES computed from the World Bank's
-- inflows, GDP and population and UN DESA's migrant stocks (sql/mart/06 and 07), refreshed by a
-- load of either source. Never observed figures: value_kind says so on every row.

-- One row per corridor and year, each method's estimate in its own column (reporting.remittance_corridors
-- shows a row per method).
CREATE TABLE IF NOT EXISTS mart.remittance_corridors (
    origin_code                 TEXT NOT NULL,    -- the country receiving the remittances
    origin_name                 TEXT,
    destination_code            TEXT NOT NULL,    -- where its emigrants live and send from
    destination_name            TEXT,
    destination_area_type       TEXT,
    year                        INTEGER NOT NULL,
    stock_shares_usd            DOUBLE PRECISION,
    host_income_usd             DOUBLE PRECISION,
    host_and_origin_income_usd  DOUBLE PRECISION,
    stock_shares_rank           BIGINT,
    host_income_rank            BIGINT,
    host_and_origin_income_rank BIGINT,
    origin_inflow_usd           DOUBLE PRECISION,
    migrants                    DOUBLE PRECISION,
    stock_basis                 TEXT,             -- 'UN DESA <year>' or 'interpolated <from>-<to>'
    host_income_per_head_usd    DOUBLE PRECISION,
    origin_income_per_head_usd  DOUBLE PRECISION,
    income_imputed              BOOLEAN,          -- the host's income was missing (income methods)
    inflow_release              TEXT,
    stock_release               TEXT,
    income_release              TEXT
);

CREATE TABLE IF NOT EXISTS mart.remittance_corridor_gaps (
    country_code          TEXT NOT NULL,
    country_name          TEXT,
    year                  INTEGER NOT NULL,
    method                TEXT NOT NULL,
    estimated_outflow_usd DOUBLE PRECISION,
    observed_outflow_usd  DOUBLE PRECISION,
    gap_usd               DOUBLE PRECISION,
    gap_pct               DOUBLE PRECISION,
    origins_estimated     BIGINT,
    value_kind            TEXT,
    inflow_release        TEXT,
    stock_release         TEXT,
    outflow_release       TEXT
);
