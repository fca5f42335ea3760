-- mart.published_remittance_comparison: per corridor, edition year and method, the World Bank/KNOMAD
-- PUBLISHED ESTIMATE beside this project's MODEL ESTIMATE for the same year, as US$ and as shares of
-- the receiving country's inflow (the publisher's: its WORLD total; the model's: the observed
-- inflow it shares out), and their differences. Every cell of the published matrix, zeros
-- included; a corridor the model does not estimate (the origin has no estimate that year, an
-- observed inflow of zero to share out, or the corridor is excluded) has no model figure; a corridor absent from the matrix (UN DESA's residual
-- "Other" areas) is not compared. Two kinds of estimate, neither observed: value_kind says so.
WITH published AS (
    SELECT receiving_code, sending_code, year, release_id, remittances_usd, estimate_status
    FROM mart.current_published_remittance
    WHERE receiving_code <> 'M49:900' AND sending_code <> 'M49:900'
),
published_totals AS (
    SELECT receiving_code, year, remittances_usd AS published_total_usd
    FROM mart.current_published_remittance
    WHERE sending_code = 'M49:900' AND receiving_code <> 'M49:900'
),
model_years AS (
    SELECT origin_code, year, max(origin_inflow_usd) AS inflow_usd, max(stock_basis) AS stock_basis,
        max(inflow_release) AS inflow_release, max(stock_release) AS stock_release
    FROM mart.remittance_corridors
    GROUP BY origin_code, year
),
methods AS (
    SELECT method FROM (VALUES ('stock_shares'), ('published_method')) AS m (method)
),
compared AS (
    SELECT
        p.receiving_code,
        p.sending_code,
        p.year,
        p.release_id,
        p.estimate_status,
        p.remittances_usd AS published_usd,
        100 * p.remittances_usd / NULLIF(t.published_total_usd, 0) AS published_share_pct,
        m.method,
        CASE
            WHEN y.origin_code IS NULL THEN 'no model estimate for the year'
            WHEN x.origin_code IS NOT NULL THEN 'excluded'
            WHEN y.inflow_usd = 0 THEN 'observed inflow is zero'
            ELSE 'estimated'
        END AS model_status,
        CASE WHEN y.origin_code IS NOT NULL AND x.origin_code IS NULL AND y.inflow_usd <> 0 THEN
            coalesce(CASE m.method WHEN 'stock_shares' THEN c.stock_shares_usd ELSE c.published_method_usd END, 0)
        END AS model_usd,
        y.inflow_usd AS model_inflow_usd,
        y.stock_basis,
        y.inflow_release,
        y.stock_release
    FROM published AS p
    CROSS JOIN methods AS m
    LEFT JOIN published_totals AS t ON t.receiving_code = p.receiving_code AND t.year = p.year
    LEFT JOIN model_years AS y ON y.origin_code = p.receiving_code AND y.year = p.year
    LEFT JOIN dw.remittance_corridor_exclusion AS x
        ON x.origin_code = p.receiving_code AND x.destination_code = p.sending_code
    LEFT JOIN mart.remittance_corridors AS c
        ON c.origin_code = p.receiving_code AND c.destination_code = p.sending_code AND c.year = p.year
)
SELECT
    k.receiving_code AS origin_code,
    o.name AS origin_name,
    k.sending_code AS destination_code,
    d.name AS destination_name,
    k.year,
    r.release_label AS published_release,
    k.estimate_status AS published_status,
    k.published_usd,
    k.published_share_pct,
    k.method,
    k.model_status,
    k.model_usd,
    100 * k.model_usd / NULLIF(k.model_inflow_usd, 0) AS model_share_pct,
    k.model_usd - k.published_usd AS difference_usd,
    100 * k.model_usd / NULLIF(k.model_inflow_usd, 0) - k.published_share_pct AS share_difference_pp,
    'published estimate vs model estimate' AS value_kind,
    k.stock_basis,
    k.inflow_release,
    k.stock_release
FROM compared AS k
JOIN dw.dim_country AS o ON o.country_code = k.receiving_code
JOIN dw.dim_country AS d ON d.country_code = k.sending_code
JOIN dw.dim_source_release AS r ON r.release_id = k.release_id
