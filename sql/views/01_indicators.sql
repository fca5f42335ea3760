-- Reporting views for BI tools: the only schema analysts need. Recreated on every migrate.
-- Runs unchanged on DuckDB and PostgreSQL. Statements end with ";" at the end of a line.

-- Every indicator value from the latest release that carries it, with its source and licence.
CREATE OR REPLACE VIEW reporting.indicator_values AS
WITH ranked AS (
    SELECT
        f.country_code,
        f.indicator_code,
        f.year,
        f.value,
        f.obs_status,
        f.release_id,
        f.quality_flags,
        row_number() OVER (
            PARTITION BY f.country_code, f.indicator_code, f.year
            ORDER BY r.release_date DESC NULLS LAST, r.fetched_at DESC, r.release_id DESC
        ) AS release_rank
    FROM dw.fact_indicator_value AS f
    JOIN dw.dim_source_release AS r ON r.release_id = f.release_id
)
SELECT
    c.country_code,
    c.name AS country_name,
    c.is_aggregate,
    i.indicator_code,
    i.name AS indicator_name,
    i.unit,
    ranked.year,
    ranked.value,
    ranked.obs_status,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.release_label,
    r.release_id,
    r.licence,
    ranked.quality_flags
FROM ranked
JOIN dw.dim_source_release AS r ON r.release_id = ranked.release_id
JOIN dw.dim_country AS c ON c.country_code = ranked.country_code
JOIN dw.dim_indicator AS i ON i.indicator_code = ranked.indicator_code
WHERE ranked.release_rank = 1;

-- Remittances per country and year: received (USD and % of GDP), paid, and GDP.
CREATE OR REPLACE VIEW reporting.remittances AS
SELECT
    country_code,
    country_name,
    is_aggregate,
    year,
    max(CASE WHEN indicator_code = 'BX.TRF.PWKR.CD.DT' THEN value END) AS remittances_received_usd,
    max(CASE WHEN indicator_code = 'BX.TRF.PWKR.DT.GD.ZS' THEN value END) AS remittances_received_pct_gdp,
    max(CASE WHEN indicator_code = 'BM.TRF.PWKR.CD.DT' THEN value END) AS remittances_paid_usd,
    max(CASE WHEN indicator_code = 'NY.GDP.MKTP.CD' THEN value END) AS gdp_usd,
    max(release_label) AS release_label,
    max(source_publisher) AS source_publisher,
    max(source_dataset) AS source_dataset,
    max(licence) AS licence
FROM reporting.indicator_values
WHERE indicator_code IN ('BX.TRF.PWKR.CD.DT', 'BX.TRF.PWKR.DT.GD.ZS', 'BM.TRF.PWKR.CD.DT', 'NY.GDP.MKTP.CD')
GROUP BY country_code, country_name, is_aggregate, year;
