-- Where the money comes from: bilateral remittance MODEL ESTIMATES (Ratha–Shaw), computed at load
-- from World Bank inflows, GDP and population and UN DESA migrant stocks (sql/mart/06 and 07).
-- Estimates, never observed figures: keep them apart from reporting.remittances.

-- Estimated remittances received by each origin country from each place its emigrants live, per
-- year and method; per origin, year and method they add up to the observed inflow.
CREATE OR REPLACE VIEW reporting.remittance_corridors AS
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    'stock_shares' AS method, stock_shares_usd AS estimated_usd,
    100 * stock_shares_usd / NULLIF(origin_inflow_usd, 0) AS share_of_inflow_pct,
    stock_shares_rank AS corridor_rank,
    origin_inflow_usd, migrants, stock_basis, host_income_per_head_usd, origin_income_per_head_usd,
    FALSE AS income_imputed, 'model estimate' AS value_kind, inflow_release, stock_release,
    CAST(NULL AS TEXT) AS income_release
FROM mart.remittance_corridors
UNION ALL
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    'host_income' AS method, host_income_usd AS estimated_usd,
    100 * host_income_usd / NULLIF(origin_inflow_usd, 0) AS share_of_inflow_pct,
    host_income_rank AS corridor_rank,
    origin_inflow_usd, migrants, stock_basis, host_income_per_head_usd, origin_income_per_head_usd,
    income_imputed, 'model estimate' AS value_kind, inflow_release, stock_release,
    income_release
FROM mart.remittance_corridors
UNION ALL
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    'host_and_origin_income' AS method, host_and_origin_income_usd AS estimated_usd,
    100 * host_and_origin_income_usd / NULLIF(origin_inflow_usd, 0) AS share_of_inflow_pct,
    host_and_origin_income_rank AS corridor_rank,
    origin_inflow_usd, migrants, stock_basis, host_income_per_head_usd, origin_income_per_head_usd,
    income_imputed, 'model estimate' AS value_kind, inflow_release, stock_release,
    income_release
FROM mart.remittance_corridors;

-- Per host country, year and method: the outflow the estimates imply against the outflow the
-- World Bank observes, and the gap between them.
CREATE OR REPLACE VIEW reporting.remittance_corridor_gaps AS
SELECT
    country_code, country_name, year, method, estimated_outflow_usd, observed_outflow_usd, gap_usd,
    gap_pct, origins_estimated, value_kind, inflow_release, stock_release, outflow_release
FROM mart.remittance_corridor_gaps;
