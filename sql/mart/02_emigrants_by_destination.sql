-- mart.emigrants_by_destination: emigrants of each origin country by destination country (and
-- residual "Other" destinations), with their share of the origin's emigrants (the World row).
-- One pass with window functions: a self-join of the stock on the World row made PostgreSQL
-- choose a nested loop that ran for minutes. No ORDER BY: sorting 224,352 rows by text codes took
-- PostgreSQL 1.8 s here; its indexes serve the BI filters.
WITH stock AS (
    SELECT
        s.origin_code,
        s.destination_code,
        d.area_type AS destination_area_type,
        s.year,
        s.sex,
        s.migrants,
        max(CASE WHEN s.destination_code = 'M49:900' THEN s.migrants END)
            OVER (PARTITION BY s.origin_code, s.year, s.sex) AS origin_total,
        s.release_id
    FROM mart.current_migrant_stock AS s
    JOIN dw.dim_country AS o ON o.country_code = s.origin_code
    JOIN dw.dim_country AS d ON d.country_code = s.destination_code
    WHERE o.area_type = 'country'
        AND (d.area_type IN ('country', 'residual') OR s.destination_code = 'M49:900')
)
SELECT
    s.origin_code,
    o.name AS origin_name,
    s.destination_code,
    d.name AS destination_name,
    s.destination_area_type,
    s.year,
    s.sex,
    s.migrants,
    s.origin_total,
    100 * s.migrants / NULLIF(s.origin_total, 0) AS share_of_origin_total_pct,
    CASE WHEN s.destination_area_type = 'country' THEN
        rank() OVER (
            PARTITION BY s.origin_code, s.year, s.sex, s.destination_area_type
            ORDER BY s.migrants DESC NULLS LAST
        )
    END AS destination_rank,
    r.release_label,
    r.licence
FROM stock AS s
JOIN dw.dim_country AS o ON o.country_code = s.origin_code
JOIN dw.dim_country AS d ON d.country_code = s.destination_code
JOIN dw.dim_source_release AS r ON r.release_id = s.release_id
WHERE s.destination_area_type IN ('country', 'residual')
