-- Refugee population (UNHCR): per country and year, people from it and people it hosts.

-- Every refugee population value from the latest release that carries it.
CREATE OR REPLACE VIEW reporting.refugee_population AS
WITH ranked AS (
    SELECT
        f.*,
        row_number() OVER (
            PARTITION BY f.origin_code, f.asylum_code, f.year, f.population_type
            ORDER BY r.release_date DESC NULLS LAST, r.fetched_at DESC, r.release_id DESC
        ) AS release_rank
    FROM dw.fact_refugee_population AS f
    JOIN dw.dim_source_release AS r ON r.release_id = f.release_id
)
SELECT
    ranked.origin_code,
    o.name AS origin_name,
    ranked.asylum_code,
    a.name AS asylum_name,
    ranked.year,
    ranked.population_type,
    ranked.persons,
    r.release_label,
    r.licence,
    ranked.quality_flags
FROM ranked
JOIN dw.dim_source_release AS r ON r.release_id = ranked.release_id
JOIN dw.dim_country AS o ON o.country_code = ranked.origin_code
JOIN dw.dim_country AS a ON a.country_code = ranked.asylum_code
WHERE ranked.release_rank = 1;

-- Per country and year: refugees and asylum seekers from it (as origin) and hosted by it (as
-- country of asylum), stateless persons it hosts.
CREATE OR REPLACE VIEW reporting.refugees AS
WITH origin AS (
    SELECT
        origin_code AS country_code,
        year,
        sum(CASE WHEN population_type = 'refugees' THEN persons END) AS refugees_from,
        sum(CASE WHEN population_type = 'asylum_seekers' THEN persons END) AS asylum_seekers_from,
        max(release_label) AS release_label
    FROM reporting.refugee_population
    GROUP BY origin_code, year
),
asylum AS (
    SELECT
        asylum_code AS country_code,
        year,
        sum(CASE WHEN population_type = 'refugees' THEN persons END) AS refugees_hosted,
        sum(CASE WHEN population_type = 'asylum_seekers' THEN persons END) AS asylum_seekers_hosted,
        sum(CASE WHEN population_type = 'stateless' THEN persons END) AS stateless_hosted,
        max(release_label) AS release_label
    FROM reporting.refugee_population
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
    coalesce(origin.release_label, asylum.release_label) AS release_label
FROM origin
FULL OUTER JOIN asylum ON asylum.country_code = origin.country_code AND asylum.year = origin.year
JOIN dw.dim_country AS c ON c.country_code = coalesce(origin.country_code, asylum.country_code)
WHERE c.area_type IN ('country', 'territory');
