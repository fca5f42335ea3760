-- mart.diaspora_profile: one row per origin country and year, each figure with its release.
WITH totals AS (
    SELECT
        s.origin_code,
        max(o.name) AS origin_name,
        s.year,
        max(CASE WHEN s.sex = 'both' THEN s.migrants END) AS emigrants,
        max(CASE WHEN s.sex = 'female' THEN s.migrants END) AS female_emigrants,
        max(CASE WHEN s.sex = 'male' THEN s.migrants END) AS male_emigrants,
        max(s.release_id) AS release_id
    FROM mart.current_migrant_stock AS s
    JOIN dw.dim_country AS o ON o.country_code = s.origin_code
    WHERE s.destination_code = 'M49:900' AND o.area_type = 'country'
    GROUP BY s.origin_code, s.year
),
population AS (
    SELECT
        t.origin_code,
        t.year,
        p.year AS population_year,
        p.value AS population,
        p.release_id,
        row_number() OVER (PARTITION BY t.origin_code, t.year ORDER BY p.year DESC) AS recency
    FROM totals AS t
    JOIN mart.current_indicator_value AS p
        ON p.country_code = t.origin_code AND p.indicator_code = 'SP.POP.TOTL'
        AND p.year <= t.year AND p.value IS NOT NULL
),
top_five AS (
    SELECT
        origin_code,
        year,
        string_agg(
            destination_name || ': ' || CAST(CAST(migrants AS BIGINT) AS VARCHAR), '; '
            ORDER BY destination_rank, destination_name
        ) AS top_destinations
    FROM mart.emigrants_by_destination
    WHERE sex = 'both' AND destination_rank <= 5 AND migrants IS NOT NULL
    GROUP BY origin_code, year
),
eea AS (
    SELECT
        origin_code,
        year,
        max(CASE WHEN sex = 'both' THEN migrants END) AS eea_emigrants,
        max(CASE WHEN sex = 'female' THEN migrants END) AS eea_female,
        max(CASE WHEN sex = 'male' THEN migrants END) AS eea_male
    FROM mart.emigrants_in_group
    WHERE group_code = 'EEA'
    GROUP BY origin_code, year
),
remittances AS (
    SELECT
        country_code,
        year AS remittances_year,
        remittances_received_usd,
        remittances_received_pct_gdp,
        release_label AS remittances_release,
        row_number() OVER (PARTITION BY country_code ORDER BY year DESC) AS recency
    FROM mart.remittances
    WHERE remittances_received_usd IS NOT NULL
)
SELECT
    t.origin_code AS country_code,
    t.origin_name AS country_name,
    t.year,
    t.emigrants,
    t.female_emigrants,
    t.male_emigrants,
    100 * t.female_emigrants / NULLIF(t.emigrants, 0) AS female_pct,
    100 * t.male_emigrants / NULLIF(t.emigrants, 0) AS male_pct,
    p.population,
    p.population_year,
    100 * t.emigrants / NULLIF(p.population, 0) AS emigrants_pct_of_population,
    top_five.top_destinations,
    e.eea_emigrants,
    100 * e.eea_emigrants / NULLIF(t.emigrants, 0) AS eea_pct_of_emigrants,
    100 * e.eea_female / NULLIF(e.eea_emigrants, 0) AS eea_female_pct,
    100 * e.eea_male / NULLIF(e.eea_emigrants, 0) AS eea_male_pct,
    r.remittances_year,
    r.remittances_received_usd,
    r.remittances_received_pct_gdp,
    sr.release_label AS stock_release,
    pr.release_label AS population_release,
    r.remittances_release
FROM totals AS t
LEFT JOIN population AS p ON p.origin_code = t.origin_code AND p.year = t.year AND p.recency = 1
LEFT JOIN top_five ON top_five.origin_code = t.origin_code AND top_five.year = t.year
LEFT JOIN eea AS e ON e.origin_code = t.origin_code AND e.year = t.year
LEFT JOIN remittances AS r ON r.country_code = t.origin_code AND r.recency = 1
LEFT JOIN dw.dim_source_release AS sr ON sr.release_id = t.release_id
LEFT JOIN dw.dim_source_release AS pr ON pr.release_id = p.release_id
ORDER BY t.origin_code, t.year
