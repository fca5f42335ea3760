-- Per origin, year and method the corridor estimates add up to the observed inflow, to the cent;
-- the rows returned break it (mart.refresh_table refuses the refresh).
WITH sums AS (
    SELECT origin_code, year, max(origin_inflow_usd) AS inflow_usd, sum(stock_shares_usd) AS stock_shares,
        sum(host_income_usd) AS host_income, sum(host_and_origin_income_usd) AS host_and_origin_income
    FROM mart.remittance_corridors
    GROUP BY origin_code, year
)
SELECT origin_code, year, 'stock_shares' AS method, inflow_usd, stock_shares AS estimated_usd
FROM sums WHERE abs(stock_shares - inflow_usd) >= 0.01
UNION ALL
SELECT origin_code, year, 'host_income', inflow_usd, host_income FROM sums
WHERE abs(host_income - inflow_usd) >= 0.01
UNION ALL
SELECT origin_code, year, 'host_and_origin_income', inflow_usd, host_and_origin_income FROM sums
WHERE abs(host_and_origin_income - inflow_usd) >= 0.01
ORDER BY origin_code, year, method
LIMIT 20
