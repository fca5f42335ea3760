-- Releases as vintages: every loaded release, what each new release changed, and every release's
-- figures as it published them (the other views show the current figures). They read the facts
-- of every release, not the reporting layer: filter them on a release (and a country).

-- Every loaded release of every source, newest first per source, and whether the reporting views
-- show it (is_current: the newest release, or an older one still carrying values no newer has).
CREATE OR REPLACE VIEW reporting.releases AS
SELECT
    r.source,
    r.release_id,
    r.release_label,
    r.release_date,
    r.fetched_at,
    r.publisher AS source_publisher,
    r.dataset AS source_dataset,
    r.licence,
    r.citation,
    r.url,
    l.rows_loaded,
    l.loaded_at,
    c.release_rank IS NOT NULL AS is_current,
    c.release_rank = 1 AS is_latest
FROM dw.dim_source_release AS r
JOIN (
    SELECT release_id, max(rows_loaded) AS rows_loaded, max(finished_at) AS loaded_at
    FROM etl.load_run
    WHERE status = 'success'
    GROUP BY release_id
) AS l ON l.release_id = r.release_id
LEFT JOIN mart.current_release AS c ON c.release_id = r.release_id;

-- What each release changed against the release before it: one row per release compared (and per
-- release the revision policy quarantined).
CREATE OR REPLACE VIEW reporting.release_changes AS
SELECT
    d.diff_id,
    d.source,
    d.old_release_id,
    d.old_release_label,
    d.new_release_id,
    d.new_release_label,
    n.release_date AS new_release_date,
    d.status,
    d.rows_old,
    d.rows_new,
    d.added,
    d.removed,
    d.revised,
    d.unchanged,
    d.countries_added,
    d.countries_removed,
    d.years_added,
    d.years_removed,
    d.revised_totals_count,
    d.computed_at
FROM etl.release_diff AS d
LEFT JOIN dw.dim_source_release AS n ON n.release_id = d.new_release_id;

-- Every value a loaded release added, removed or revised against the release before it.
CREATE OR REPLACE VIEW reporting.value_revisions AS
SELECT
    d.source,
    d.old_release_id,
    d.old_release_label,
    d.new_release_id,
    d.new_release_label,
    v.change_kind,
    v.country_code,
    c.name AS country_name,
    v.counterpart_code,
    p.name AS counterpart_name,
    v.measure,
    v.breakdown,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.old_value,
    v.new_value,
    v.new_value - v.old_value AS change,
    100 * (v.new_value - v.old_value) / NULLIF(abs(v.old_value), 0) AS change_pct
FROM etl.value_revision AS v
JOIN etl.release_diff AS d ON d.diff_id = v.diff_id
LEFT JOIN dw.dim_country AS c ON c.country_code = v.country_code
LEFT JOIN dw.dim_country AS p ON p.country_code = v.counterpart_code;

-- Every indicator value as each release published it: filter release_label or release_id.
CREATE OR REPLACE VIEW reporting.indicator_values_by_release AS
SELECT
    v.country_code,
    c.name AS country_name,
    c.is_aggregate,
    v.indicator_code,
    i.name AS indicator_name,
    i.unit,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.value,
    v.obs_status,
    r.release_id,
    r.release_label,
    r.release_date,
    r.licence,
    v.quality_flags
FROM dw.fact_indicator_value AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS c ON c.country_code = v.country_code
JOIN dw.dim_indicator AS i ON i.indicator_code = v.indicator_code;

-- Every migrant stock value as each release (edition) published it: filter release_label.
CREATE OR REPLACE VIEW reporting.migrant_stock_by_release AS
SELECT
    v.origin_code,
    o.name AS origin_name,
    v.destination_code,
    d.name AS destination_name,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.sex,
    v.migrants,
    r.release_id,
    r.release_label,
    r.release_date,
    r.licence,
    v.quality_flags
FROM dw.fact_migrant_stock AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS o ON o.country_code = v.origin_code
JOIN dw.dim_country AS d ON d.country_code = v.destination_code;

-- Every refugee population value as each release published it: filter release_id (UNHCR's labels
-- name the latest year covered, which two releases can share).
CREATE OR REPLACE VIEW reporting.refugee_population_by_release AS
SELECT
    v.origin_code,
    o.name AS origin_name,
    v.asylum_code,
    a.name AS asylum_name,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.population_type,
    v.persons,
    r.release_id,
    r.release_label,
    r.release_date,
    r.fetched_at,
    r.licence,
    v.quality_flags
FROM dw.fact_refugee_population AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS o ON o.country_code = v.origin_code
JOIN dw.dim_country AS a ON a.country_code = v.asylum_code;

-- Every World Bank/KNOMAD bilateral remittance estimate as each edition published it: PUBLISHED
-- ESTIMATES (value_kind), never observed figures. Filter release_label (one edition a year) or year.
CREATE OR REPLACE VIEW reporting.published_remittances_by_release AS
SELECT
    v.receiving_code,
    rc.name AS receiving_name,
    rc.area_type AS receiving_area_type,
    v.sending_code,
    sc.name AS sending_name,
    sc.area_type AS sending_area_type,
    v.year,
    make_date(v.year, 1, 1) AS year_date,
    v.remittances_usd,
    v.estimate_status,
    CAST('published estimate' AS TEXT) AS value_kind,
    r.release_id,
    r.release_label,
    r.release_date,
    r.licence,
    r.citation,
    v.quality_flags
FROM dw.fact_published_remittance AS v
JOIN dw.dim_source_release AS r ON r.release_id = v.release_id
JOIN dw.dim_country AS rc ON rc.country_code = v.receiving_code
JOIN dw.dim_country AS sc ON sc.country_code = v.sending_code;
