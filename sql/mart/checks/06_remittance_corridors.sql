-- Per origin, year and method the corridor estimates add up to the observed inflow, to the cent;
-- the rows returned break it (mart.refresh_table refuses the refresh).
SELECT origin_code, year, method, max(origin_inflow_usd) AS inflow_usd, sum(estimated_usd) AS estimated_usd
FROM mart.remittance_corridors
GROUP BY origin_code, year, method
HAVING abs(sum(estimated_usd) - max(origin_inflow_usd)) >= 0.01
ORDER BY origin_code, year, method
LIMIT 20
