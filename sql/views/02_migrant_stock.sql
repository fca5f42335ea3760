-- Migrant stock reporting: emigrants by destination, in country groups, and the diaspora profile.
-- Runs unchanged on DuckDB and PostgreSQL. Shares are percentages (0-100).

-- Every migrant stock value from the latest release that carries it, with both locations named.
CREATE OR REPLACE VIEW reporting.migrant_stock AS
SELECT
    o.country_code AS origin_code,
    o.name AS origin_name,
    o.area_type AS origin_area_type,
    d.country_code AS destination_code,
    d.name AS destination_name,
    d.area_type AS destination_area_type,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.sex,
    v.migrants,
    v.data_type,
    v.coverage,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.release_label,
    r.release_id,
    r.licence,
    v.quality_flags
FROM mart.current_migrant_stock AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS o ON o.country_code = v.origin_code
JOIN dw.dim_country AS d ON d.country_code = v.destination_code;

-- Emigrants of each origin country by destination country (and residual "Other" destinations),
-- with their share of all the origin's emigrants (the World destination row).
CREATE OR REPLACE VIEW reporting.emigrants_by_destination AS
SELECT
    origin_code, origin_name, destination_code, destination_name, destination_area_type, year,
    make_date(year, 1, 1) AS year_date, sex, migrants, origin_total, share_of_origin_total_pct,
    destination_rank, release_label, licence
FROM mart.emigrants_by_destination;

-- Emigrants living in each country group (membership on 1 July of the year), for every group.
CREATE OR REPLACE VIEW reporting.emigrants_in_group AS
SELECT
    origin_code, origin_name, group_code, year, make_date(year, 1, 1) AS year_date, sex, migrants,
    origin_total, share_of_origin_total_pct, member_destinations_with_data, release_label
FROM mart.emigrants_in_group;

-- One row per origin country and year: the diaspora in numbers, each figure with its release.
CREATE OR REPLACE VIEW reporting.diaspora_profile AS
SELECT
    country_code, country_name, year, make_date(year, 1, 1) AS year_date, emigrants,
    female_emigrants, male_emigrants, female_pct, male_pct, population, population_year,
    emigrants_pct_of_population, top_destinations, eea_emigrants, eea_pct_of_emigrants,
    eea_female_pct, eea_male_pct, remittances_year, remittances_received_usd,
    remittances_received_pct_gdp, stock_release, population_release, remittances_release
FROM mart.diaspora_profile;
