-- Refugee population (UNHCR): per country and year, people from it and people it hosts.

-- Every refugee population value from the latest release that carries it.
CREATE OR REPLACE VIEW reporting.refugee_population AS
SELECT
    v.origin_code,
    o.name AS origin_name,
    v.asylum_code,
    a.name AS asylum_name,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.population_type,
    v.persons,
    r.release_label,
    r.licence,
    v.quality_flags
FROM mart.current_refugee_population AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS o ON o.country_code = v.origin_code
JOIN dw.dim_country AS a ON a.country_code = v.asylum_code;

-- Per country and year: refugees and asylum seekers from it (as origin) and hosted by it (as
-- country of asylum), stateless persons it hosts.
CREATE OR REPLACE VIEW reporting.refugees AS
SELECT
    country_code, country_name, year, make_date(year, 1, 1) AS year_date, refugees_from,
    asylum_seekers_from, refugees_hosted, asylum_seekers_hosted, stateless_hosted, release_label
FROM mart.refugees;
