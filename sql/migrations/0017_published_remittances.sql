-- The World Bank/KNOMAD bilateral remittance matrices (plugins/diaspora/sources/
-- knomad_bilateral_remittances): PUBLISHED ESTIMATES, the publisher's own allocation of each
-- country's inflow among the places its migrants live (after Ratha and Shaw 2007). Neither observed
-- figures (dw.fact_indicator_value) nor this project's model estimates (mart.remittance_corridors):
-- reporting.published_remittances_by_release says so on every row. One edition per release, each
-- for its own year; every cell of the matrix is a row, zeros included, and the WORLD row and
-- column load as totals (counterpart M49:900). No key constraint, as for every fact table since
-- 0008: the source's suite refuses repeated keys and a load replaces its release as a whole.

CREATE TABLE IF NOT EXISTS dw.fact_published_remittance (
    receiving_code  TEXT NOT NULL,          -- dim_country.country_code: the country receiving (the migrants' origin); M49:900 = the sender's total (WORLD column)
    sending_code    TEXT NOT NULL,          -- dim_country.country_code: where the migrants live and send from; M49:900 = the receiver's total (WORLD row)
    year            INTEGER NOT NULL,       -- the year the estimates are for ("Estimates for 2017")
    release_id      BIGINT NOT NULL,
    remittances_usd DOUBLE PRECISION,       -- US$ (the workbook's millions × 1,000,000); NULL = not estimated ('-')
    estimate_status TEXT NOT NULL,          -- estimated | not_estimated ('-' in the matrix) | total (WORLD row or column)
    quality_flags   TEXT                    -- warning expectations failed, ';'-separated; NULL = none
);
