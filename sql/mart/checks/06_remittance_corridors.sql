-- Per origin, year and method the corridor estimates add up to the observed inflow, to the cent;
-- the rows returned break it (mart.refresh_table refuses the refresh).
WITH sums AS (
    SELECT origin_code, year, max(origin_inflow_usd) AS inflow_usd, sum(stock_shares_usd) AS stock_shares,
        sum(published_method_usd) AS published_method
    FROM mart.remittance_corridors
    GROUP BY origin_code, year
)
SELECT origin_code, year, 'stock_shares' AS method, inflow_usd, stock_shares AS estimated_usd
FROM sums WHERE abs(stock_shares - inflow_usd) >= 0.01
UNION ALL
SELECT origin_code, year, 'published_method', inflow_usd, published_method FROM sums
WHERE abs(published_method - inflow_usd) >= 0.01
ORDER BY origin_code, year, method
LIMIT 20
