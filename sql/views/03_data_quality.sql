-- Data quality per source, for a BI dashboard: last success, last failure, the expectations that
-- failed in the latest validation, and freshness against the source's expected cadence.
CREATE OR REPLACE VIEW reporting.data_quality AS
WITH runs AS (
    SELECT
        source,
        max(CASE WHEN status = 'success' THEN finished_at END) AS last_success_at,
        max(CASE WHEN status IN ('failed', 'validation_failed', 'quarantined') THEN finished_at END) AS last_failure_at,
        count(*) AS load_runs
    FROM etl.load_run
    GROUP BY source
),
latest_failure AS (
    SELECT
        source,
        status AS last_failure_status,
        message AS last_failure_message,
        row_number() OVER (PARTITION BY source ORDER BY finished_at DESC, load_id DESC) AS recency
    FROM etl.load_run
    WHERE status IN ('failed', 'validation_failed', 'quarantined')
),
latest_validation AS (
    SELECT source, max(validated_at) AS validated_at
    FROM etl.validation_result
    GROUP BY source
),
failing AS (
    SELECT
        v.source,
        string_agg(
            CASE WHEN coalesce(v.severity, 'critical') = 'critical' THEN
                v.expectation_type || coalesce('(' || v.column_name || ')', '')
            END, '; '
            ORDER BY v.expectation_type, v.column_name
        ) AS failing_expectations,
        string_agg(
            CASE WHEN v.severity = 'warning' THEN
                v.expectation_type || coalesce('(' || v.column_name || ')', '')
            END, '; '
            ORDER BY v.expectation_type, v.column_name
        ) AS warning_expectations
    FROM etl.validation_result AS v
    JOIN latest_validation AS l ON l.source = v.source AND l.validated_at = v.validated_at
    WHERE NOT v.success
    GROUP BY v.source
),
releases AS (
    SELECT
        r.source,
        max(r.release_date) AS latest_release_date,
        max(r.fetched_at) AS last_fetched_at
    FROM dw.dim_source_release AS r
    GROUP BY r.source
)
SELECT
    h.source,
    h.cadence_days,
    runs.last_success_at,
    runs.last_failure_at,
    lf.last_failure_status,
    lf.last_failure_message,
    lv.validated_at AS last_validated_at,
    failing.failing_expectations,
    releases.latest_release_date,
    releases.last_fetched_at,
    CAST(current_date - releases.latest_release_date AS INTEGER) AS release_age_days,
    CAST(current_date - releases.latest_release_date AS INTEGER) > h.cadence_days AS is_stale,
    failing.warning_expectations
FROM etl.source_health AS h
LEFT JOIN runs ON runs.source = h.source
LEFT JOIN latest_failure AS lf ON lf.source = h.source AND lf.recency = 1
LEFT JOIN latest_validation AS lv ON lv.source = h.source
LEFT JOIN failing ON failing.source = h.source
LEFT JOIN releases ON releases.source = h.source;
