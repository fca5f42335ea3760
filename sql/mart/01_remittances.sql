-- mart.remittances: personal remittances per country and year, from the current World Bank values.
WITH pivoted AS (
    SELECT
        country_code,
        year,
        max(CASE WHEN indicator_code = 'BX.TRF.PWKR.CD.DT' THEN value END) AS remittances_received_usd,
        max(CASE WHEN indicator_code = 'BX.TRF.PWKR.DT.GD.ZS' THEN value END) AS remittances_received_pct_gdp,
        max(CASE WHEN indicator_code = 'BM.TRF.PWKR.CD.DT' THEN value END) AS remittances_paid_usd,
        max(CASE WHEN indicator_code = 'NY.GDP.MKTP.CD' THEN value END) AS gdp_usd,
        max(release_id) AS release_id
    FROM mart.current_indicator_value
    WHERE indicator_code IN ('BX.TRF.PWKR.CD.DT', 'BX.TRF.PWKR.DT.GD.ZS', 'BM.TRF.PWKR.CD.DT', 'NY.GDP.MKTP.CD')
    GROUP BY country_code, year
)
SELECT
    p.country_code,
    c.name AS country_name,
    c.is_aggregate,
    p.year,
    p.remittances_received_usd,
    p.remittances_received_pct_gdp,
    p.remittances_paid_usd,
    p.gdp_usd,
    r.release_label,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.licence
FROM pivoted AS p
JOIN dw.dim_country AS c ON c.country_code = p.country_code
JOIN dw.dim_source_release AS r ON r.release_id = p.release_id
ORDER BY p.country_code, p.year
