-- mart.remittance_corridor_gaps: per host country, year and method, the remittances the corridor
-- estimates say it sends (summed over the origins that have an observed inflow) against the
-- outflow the World Bank observes for it (BM.TRF.PWKR.CD.DT): where the model and the data
-- disagree. A gap is expected: the estimates cover only origins with an observed inflow, and
-- inflows and outflows are recorded by different countries' statistics.
WITH by_host AS (
    SELECT destination_code, year, sum(stock_shares_usd) AS stock_shares,
        sum(published_method_usd) AS published_method, count(*) AS origins_estimated,
        max(stock_release) AS stock_release, max(inflow_release) AS inflow_release
    FROM mart.remittance_corridors
    WHERE destination_area_type <> 'residual'
    GROUP BY destination_code, year
),
estimated AS (
    SELECT h.destination_code, h.year, m.method,
        CASE m.method WHEN 'stock_shares' THEN h.stock_shares ELSE h.published_method END
            AS estimated_outflow_usd,
        h.origins_estimated, h.stock_release, h.inflow_release
    FROM by_host AS h
    CROSS JOIN (VALUES ('stock_shares'), ('published_method')) AS m (method)
),
observed AS (
    SELECT country_code, year, value AS observed_outflow_usd, release_id
    FROM mart.current_indicator_value
    WHERE indicator_code = 'BM.TRF.PWKR.CD.DT'
)
SELECT
    e.destination_code AS country_code,
    c.name AS country_name,
    e.year,
    e.method,
    e.estimated_outflow_usd,
    o.observed_outflow_usd,
    e.estimated_outflow_usd - o.observed_outflow_usd AS gap_usd,
    100 * (e.estimated_outflow_usd - o.observed_outflow_usd) / NULLIF(o.observed_outflow_usd, 0) AS gap_pct,
    e.origins_estimated,
    'model estimate vs observed' AS value_kind,
    e.inflow_release,
    e.stock_release,
    r.release_label AS outflow_release
FROM estimated AS e
JOIN dw.dim_country AS c ON c.country_code = e.destination_code
LEFT JOIN observed AS o ON o.country_code = e.destination_code AND o.year = e.year
LEFT JOIN dw.dim_source_release AS r ON r.release_id = o.release_id
