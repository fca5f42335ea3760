-- Reporting views for BI tools: the only schema analysts need. Recreated on every migrate.
-- Runs unchanged on DuckDB and PostgreSQL. Statements end with ";" at the end of a line.
-- They read the reporting layer computed at load (schema mart): row-level views the current rows
-- of a fact table (mart.current_*, sql/views/00_current_rows.sql), the others one table each.
-- Every view with a year carries it twice: year (the integer) and, right after it, year_date
-- (1 January of the year, a DATE), the time column BI tools need for time grains and ranges.

-- Every indicator value from the latest release that carries it, with its source and licence.
CREATE OR REPLACE VIEW reporting.indicator_values AS
SELECT
    c.country_code,
    c.name AS country_name,
    c.is_aggregate,
    i.indicator_code,
    i.name AS indicator_name,
    i.unit,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.value,
    v.obs_status,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.release_label,
    r.release_id,
    r.licence,
    v.quality_flags
FROM mart.current_indicator_value AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS c ON c.country_code = v.country_code
JOIN dw.dim_indicator AS i ON i.indicator_code = v.indicator_code;

-- Remittances per country and year: received (USD and % of GDP), paid, and GDP.
CREATE OR REPLACE VIEW reporting.remittances AS
SELECT
    country_code, country_name, is_aggregate, year, make_date(year, 1, 1) AS year_date,
    remittances_received_usd, remittances_received_pct_gdp, remittances_paid_usd, gdp_usd,
    release_label, source_publisher, source_dataset, licence
FROM mart.remittances;
