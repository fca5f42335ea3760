-- Migrant stock reporting: emigrants by destination, in country groups, and the diaspora profile.
-- Runs unchanged on DuckDB and PostgreSQL. Shares are percentages (0-100).

-- Every migrant stock value from the latest release that carries it, with both locations named.
CREATE OR REPLACE VIEW reporting.migrant_stock AS
WITH ranked AS (
    SELECT
        f.*,
        row_number() OVER (
            PARTITION BY f.origin_code, f.destination_code, f.year, f.sex
            ORDER BY r.release_date DESC NULLS LAST, r.fetched_at DESC, r.release_id DESC
        ) AS release_rank
    FROM dw.fact_migrant_stock AS f
    JOIN dw.dim_source_release AS r ON r.release_id = f.release_id
)
SELECT
    o.country_code AS origin_code,
    o.name AS origin_name,
    o.area_type AS origin_area_type,
    d.country_code AS destination_code,
    d.name AS destination_name,
    d.area_type AS destination_area_type,
    ranked.year,
    ranked.sex,
    ranked.migrants,
    ranked.data_type,
    ranked.coverage,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.release_label,
    r.release_id,
    r.licence,
    ranked.quality_flags
FROM ranked
JOIN dw.dim_source_release AS r ON r.release_id = ranked.release_id
JOIN dw.dim_country AS o ON o.country_code = ranked.origin_code
JOIN dw.dim_country AS d ON d.country_code = ranked.destination_code
WHERE ranked.release_rank = 1;

-- Emigrants of each origin country by destination country (and residual "Other" destinations),
-- with their share of all the origin's emigrants (the World destination row).
CREATE OR REPLACE VIEW reporting.emigrants_by_destination AS
SELECT
    s.origin_code,
    s.origin_name,
    s.destination_code,
    s.destination_name,
    s.destination_area_type,
    s.year,
    s.sex,
    s.migrants,
    t.migrants AS origin_total,
    100 * s.migrants / NULLIF(t.migrants, 0) AS share_of_origin_total_pct,
    CASE WHEN s.destination_area_type = 'country' THEN
        rank() OVER (
            PARTITION BY s.origin_code, s.year, s.sex, s.destination_area_type
            ORDER BY s.migrants DESC NULLS LAST
        )
    END AS destination_rank,
    s.release_label,
    s.licence
FROM reporting.migrant_stock AS s
LEFT JOIN reporting.migrant_stock AS t
    ON t.origin_code = s.origin_code AND t.destination_code = 'M49:900'
    AND t.year = s.year AND t.sex = s.sex
WHERE s.origin_area_type = 'country' AND s.destination_area_type IN ('country', 'residual');

-- Emigrants living in each country group (membership on 1 July of the year), for every group.
CREATE OR REPLACE VIEW reporting.emigrants_in_group AS
SELECT
    e.origin_code,
    e.origin_name,
    g.group_code,
    e.year,
    e.sex,
    sum(e.migrants) AS migrants,
    max(e.origin_total) AS origin_total,
    100 * sum(e.migrants) / NULLIF(max(e.origin_total), 0) AS share_of_origin_total_pct,
    count(e.migrants) AS member_destinations_with_data,
    max(e.release_label) AS release_label
FROM reporting.emigrants_by_destination AS e
JOIN dw.bridge_country_group AS g
    ON g.country_code = e.destination_code
    AND g.valid_from <= make_date(e.year, 7, 1)
    AND (g.valid_to IS NULL OR g.valid_to >= make_date(e.year, 7, 1))
WHERE e.destination_area_type = 'country'
GROUP BY e.origin_code, e.origin_name, g.group_code, e.year, e.sex;

-- One row per origin country and year: the diaspora in numbers, each figure with its release.
CREATE OR REPLACE VIEW reporting.diaspora_profile AS
WITH totals AS (
    SELECT
        origin_code,
        origin_name,
        year,
        max(CASE WHEN sex = 'both' THEN migrants END) AS emigrants,
        max(CASE WHEN sex = 'female' THEN migrants END) AS female_emigrants,
        max(CASE WHEN sex = 'male' THEN migrants END) AS male_emigrants,
        max(release_label) AS stock_release
    FROM reporting.migrant_stock
    WHERE destination_code = 'M49:900' AND origin_area_type = 'country'
    GROUP BY origin_code, origin_name, year
),
population AS (
    SELECT
        t.origin_code,
        t.year,
        p.year AS population_year,
        p.value AS population,
        p.release_label AS population_release,
        row_number() OVER (PARTITION BY t.origin_code, t.year ORDER BY p.year DESC) AS recency
    FROM totals AS t
    JOIN reporting.indicator_values AS p
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
    FROM reporting.emigrants_by_destination
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
    FROM reporting.emigrants_in_group
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
    FROM reporting.remittances
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
    t.stock_release,
    p.population_release,
    r.remittances_release
FROM totals AS t
LEFT JOIN population AS p ON p.origin_code = t.origin_code AND p.year = t.year AND p.recency = 1
LEFT JOIN top_five ON top_five.origin_code = t.origin_code AND top_five.year = t.year
LEFT JOIN eea AS e ON e.origin_code = t.origin_code AND e.year = t.year
LEFT JOIN remittances AS r ON r.country_code = t.origin_code AND r.recency = 1;
