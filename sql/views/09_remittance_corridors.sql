-- Where the money comes from: bilateral remittance MODEL ESTIMATES (Ratha–Shaw), computed at load
-- from World Bank inflows and GDP per head in PPP and UN DESA migrant stocks (sql/mart/06 and 07),
-- and their comparison with the World Bank/KNOMAD PUBLISHED ESTIMATES (sql/mart/08 and 09).
-- Estimates, never observed figures: keep them apart from reporting.remittances.

-- Estimated remittances received by each origin country from each place its emigrants live, per
-- year and method; per origin, year and method they add up to the observed inflow.
CREATE OR REPLACE VIEW reporting.remittance_corridors AS
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    make_date(year, 1, 1) AS year_date,
    'stock_shares' AS method, stock_shares_usd AS estimated_usd,
    100 * stock_shares_usd / NULLIF(origin_inflow_usd, 0) AS share_of_inflow_pct,
    stock_shares_rank AS corridor_rank,
    origin_inflow_usd, migrants, stock_basis, stock_proxy_code, host_income_per_head_ppp,
    origin_income_per_head_ppp, FALSE AS income_imputed, 'model estimate' AS value_kind, inflow_release,
    stock_release, CAST(NULL AS TEXT) AS income_release
FROM mart.remittance_corridors
UNION ALL
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    make_date(year, 1, 1) AS year_date,
    'published_method' AS method, published_method_usd AS estimated_usd,
    100 * published_method_usd / NULLIF(origin_inflow_usd, 0) AS share_of_inflow_pct,
    published_method_rank AS corridor_rank,
    origin_inflow_usd, migrants, stock_basis, stock_proxy_code, host_income_per_head_ppp,
    origin_income_per_head_ppp, income_imputed, 'model estimate' AS value_kind, inflow_release,
    stock_release, income_release
FROM mart.remittance_corridors;

-- Per host country, year and method: the outflow the estimates imply against the outflow the
-- World Bank observes, and the gap between them.
CREATE OR REPLACE VIEW reporting.remittance_corridor_gaps AS
SELECT
    country_code, country_name, year, make_date(year, 1, 1) AS year_date, method,
    estimated_outflow_usd, observed_outflow_usd, gap_usd, gap_pct, origins_estimated, value_kind,
    inflow_release, stock_release, outflow_release
FROM mart.remittance_corridor_gaps;

-- The corridors the model does not estimate, and why (the publisher's exclusions).
CREATE OR REPLACE VIEW reporting.remittance_corridor_exclusions AS
SELECT
    x.origin_code, o.name AS origin_name, x.destination_code, d.name AS destination_name, x.why,
    x.source AS rule_source
FROM dw.remittance_corridor_exclusion AS x
JOIN dw.dim_country AS o ON o.country_code = x.origin_code
JOIN dw.dim_country AS d ON d.country_code = x.destination_code;

-- The model's rules as data: its parameter and the stocks it borrows.
CREATE OR REPLACE VIEW reporting.remittance_model_rules AS
SELECT 'parameter' AS rule_kind, name AS rule, CAST(value AS TEXT) AS value, why, source AS rule_source
FROM dw.remittance_model_parameter
UNION ALL
SELECT 'stock proxy', country_code, proxy_code, why, source FROM dw.remittance_stock_proxy;

-- Per corridor, edition year and method: the published estimate and share beside the model's.
CREATE OR REPLACE VIEW reporting.published_remittance_comparison AS
SELECT
    origin_code, origin_name, destination_code, destination_name, year,
    make_date(year, 1, 1) AS year_date, published_release, published_status, published_usd,
    published_share_pct, method, model_status, model_usd, model_share_pct, difference_usd,
    share_difference_pp, value_kind, stock_basis, inflow_release, stock_release
FROM mart.published_remittance_comparison;

-- Per edition, year and method: how close the model's shares come to the published ones.
CREATE OR REPLACE VIEW reporting.published_remittance_accuracy AS
SELECT
    published_release, year, make_date(year, 1, 1) AS year_date, method, min_published_usd,
    corridors_published, corridors_compared, median_abs_difference_pp, p90_abs_difference_pp,
    within_5pp_pct, value_kind
FROM mart.published_remittance_accuracy;
