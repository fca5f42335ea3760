-- mart.refugees: per country and year, refugees and asylum seekers from it (as origin) and hosted
-- by it (as country of asylum), stateless persons it hosts.
WITH origin AS (
    SELECT
        origin_code AS country_code,
        year,
        sum(CASE WHEN population_type = 'refugees' THEN persons END) AS refugees_from,
        sum(CASE WHEN population_type = 'asylum_seekers' THEN persons END) AS asylum_seekers_from,
        max(release_id) AS release_id
    FROM mart.current_refugee_population
    GROUP BY origin_code, year
),
asylum AS (
    SELECT
        asylum_code AS country_code,
        year,
        sum(CASE WHEN population_type = 'refugees' THEN persons END) AS refugees_hosted,
        sum(CASE WHEN population_type = 'asylum_seekers' THEN persons END) AS asylum_seekers_hosted,
        sum(CASE WHEN population_type = 'stateless' THEN persons END) AS stateless_hosted,
        max(release_id) AS release_id
    FROM mart.current_refugee_population
    GROUP BY asylum_code, year
)
SELECT
    c.country_code,
    c.name AS country_name,
    coalesce(origin.year, asylum.year) AS year,
    origin.refugees_from,
    origin.asylum_seekers_from,
    asylum.refugees_hosted,
    asylum.asylum_seekers_hosted,
    asylum.stateless_hosted,
    r.release_label
FROM origin
FULL OUTER JOIN asylum ON asylum.country_code = origin.country_code AND asylum.year = origin.year
JOIN dw.dim_country AS c ON c.country_code = coalesce(origin.country_code, asylum.country_code)
LEFT JOIN dw.dim_source_release AS r ON r.release_id = coalesce(origin.release_id, asylum.release_id)
WHERE c.area_type IN ('country', 'territory')
ORDER BY c.country_code, year
