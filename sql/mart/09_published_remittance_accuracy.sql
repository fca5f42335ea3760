-- mart.published_remittance_accuracy: per edition, year and method, how far the model's shares sit
-- from the published ones over the corridors the publisher puts at US$ 100 m or more (and the model
-- estimates): the median and 90th percentile of the absolute share difference, in percentage points,
-- and the share of those corridors within 5 points.
SELECT
    published_release,
    year,
    method,
    100000000.0 AS min_published_usd,
    count(*) AS corridors_published,
    count(share_difference_pp) AS corridors_compared,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(share_difference_pp)) AS median_abs_difference_pp,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY abs(share_difference_pp)) AS p90_abs_difference_pp,
    100.0 * sum(CASE WHEN abs(share_difference_pp) <= 5 THEN 1 ELSE 0 END) / NULLIF(count(share_difference_pp), 0)
        AS within_5pp_pct,
    'published estimate vs model estimate' AS value_kind
FROM mart.published_remittance_comparison
WHERE published_usd >= 100000000
GROUP BY published_release, year, method
