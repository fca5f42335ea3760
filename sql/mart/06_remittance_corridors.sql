-- mart.remittance_corridors: MODEL ESTIMATES of personal remittances by corridor (origin country ←
-- host country), every year with an observed inflow inside UN DESA's reference years, after
-- Ratha and Shaw (2007, World Bank Working Paper 102). A country's observed inflow
-- (BX.TRF.PWKR.CD.DT) is shared among the places its emigrants live, in proportion to a weight:
--   stock_shares            migrants
--   host_income             migrants × host GDP per head
--   host_and_origin_income  migrants × the greater of host and origin GDP per head (a migrant in a
--                           poorer host is taken to earn what they would at home; this project's
--                           reading of the third variant, whose exact annex formula it does not have)
-- Stocks between reference years are interpolated linearly (absent pair = 0 migrants); a year after
-- the last reference year gets no estimate. A host without GDP or population for the year gets the
-- migrant-weighted mean income of the origin's other hosts (so it keeps its stock share) and is
-- flagged income_imputed. Per origin, year and method the estimates add up to the inflow
-- (sql/mart/checks/06_remittance_corridors.sql refuses the refresh otherwise).
-- One row per corridor and year, a column per method (a third of the rows to write and index
-- on PostgreSQL); reporting.remittance_corridors shows a row per method.
WITH reference_years AS (
    SELECT DISTINCT year FROM mart.current_migrant_stock WHERE sex = 'both'
),
spans AS (
    SELECT year AS from_year, lead(year) OVER (ORDER BY year) AS to_year FROM reference_years
),
stock AS (
    SELECT s.origin_code, s.destination_code, d.area_type AS destination_area_type, s.year, s.migrants,
        s.release_id
    FROM mart.current_migrant_stock AS s
    JOIN dw.dim_country AS o ON o.country_code = s.origin_code
    JOIN dw.dim_country AS d ON d.country_code = s.destination_code
    WHERE s.sex = 'both' AND o.area_type IN ('country', 'territory') AND d.area_type <> 'aggregate'
        AND s.migrants IS NOT NULL
),
pairs AS (
    SELECT DISTINCT origin_code, destination_code, destination_area_type FROM stock
),
income AS (  -- GDP per head; one pass over both indicators (a self-join misled PostgreSQL's planner)
    SELECT
        country_code,
        year,
        max(CASE WHEN indicator_code = 'NY.GDP.MKTP.CD' THEN value END)
            / NULLIF(max(CASE WHEN indicator_code = 'SP.POP.TOTL' THEN value END), 0) AS income_per_head,
        max(CASE WHEN indicator_code = 'NY.GDP.MKTP.CD' THEN release_id END) AS release_id
    FROM mart.current_indicator_value
    WHERE indicator_code IN ('NY.GDP.MKTP.CD', 'SP.POP.TOTL') AND value > 0
    GROUP BY country_code, year
),
inflow AS (  -- with the origin's income joined here, on a few thousand rows, not on every corridor
    SELECT v.country_code, v.year, v.value AS inflow_usd, v.release_id, n.income_per_head AS origin_income
    FROM mart.current_indicator_value AS v
    LEFT JOIN income AS n ON n.country_code = v.country_code AND n.year = v.year
    WHERE v.indicator_code = 'BX.TRF.PWKR.CD.DT' AND v.value IS NOT NULL
),
interpolated AS (
    SELECT
        k.origin_code,
        k.destination_code,
        k.destination_area_type,
        i.year,
        i.inflow_usd,
        i.release_id AS inflow_release_id,
        i.origin_income,
        coalesce(a.release_id, b.release_id) AS stock_release_id,
        CASE WHEN i.year = s.from_year THEN 'UN DESA ' || CAST(s.from_year AS TEXT)
            ELSE 'interpolated ' || CAST(s.from_year AS TEXT) || '-' || CAST(s.to_year AS TEXT)
        END AS stock_basis,
        CASE WHEN i.year = s.from_year THEN coalesce(a.migrants, 0)
            ELSE coalesce(a.migrants, 0) + (coalesce(b.migrants, 0) - coalesce(a.migrants, 0))
                * CAST(i.year - s.from_year AS DOUBLE PRECISION) / (s.to_year - s.from_year)
        END AS migrants
    FROM inflow AS i
    JOIN spans AS s ON i.year >= s.from_year AND (i.year < s.to_year OR (s.to_year IS NULL AND i.year = s.from_year))
    JOIN pairs AS k ON k.origin_code = i.country_code
    LEFT JOIN stock AS a
        ON a.origin_code = k.origin_code AND a.destination_code = k.destination_code AND a.year = s.from_year
    LEFT JOIN stock AS b
        ON b.origin_code = k.origin_code AND b.destination_code = k.destination_code AND b.year = s.to_year
),
with_income AS (
    SELECT
        p.*,
        h.income_per_head AS host_income,
        h.release_id AS income_release_id,
        -- the third method's migrant income: the host's, or the origin's where the host is poorer
        CASE WHEN p.origin_income IS NULL OR h.income_per_head >= p.origin_income THEN h.income_per_head
            WHEN h.income_per_head IS NOT NULL THEN p.origin_income
        END AS higher_income
    FROM interpolated AS p
    LEFT JOIN income AS h ON h.country_code = p.destination_code AND h.year = p.year
    WHERE p.migrants > 0
),
-- Per origin and year: the migrants, and for each income the migrant-weighted mean over the hosts
-- that have it (what a host without it is given). Grouped, not windowed: PostgreSQL sorted the
-- windows' text keys for seconds where a hash aggregate takes a fraction.
origin_totals AS (
    SELECT
        origin_code,
        year,
        sum(migrants) AS migrants,
        sum(migrants * host_income) / sum(CASE WHEN host_income IS NOT NULL THEN migrants END)
            AS mean_host_income,
        sum(migrants * higher_income) / sum(CASE WHEN higher_income IS NOT NULL THEN migrants END)
            AS mean_higher_income
    FROM with_income
    GROUP BY origin_code, year
),
weighted AS (
    SELECT
        w.*,
        w.migrants * coalesce(w.host_income, t.mean_host_income, 1.0) AS host_income_weight,
        w.migrants * coalesce(w.higher_income, t.mean_higher_income, 1.0) AS higher_income_weight,
        t.migrants AS origin_migrants
    FROM with_income AS w
    JOIN origin_totals AS t ON t.origin_code = w.origin_code AND t.year = w.year
),
weight_totals AS (
    SELECT origin_code, year, sum(host_income_weight) AS host_income_total,
        sum(higher_income_weight) AS higher_income_total
    FROM weighted
    GROUP BY origin_code, year
),
estimated AS (
    SELECT
        w.*,
        w.inflow_usd * w.migrants / w.origin_migrants AS stock_shares_usd,
        w.inflow_usd * w.host_income_weight / t.host_income_total AS host_income_usd,
        w.inflow_usd * w.higher_income_weight / t.higher_income_total AS host_and_origin_income_usd
    FROM weighted AS w
    JOIN weight_totals AS t ON t.origin_code = w.origin_code AND t.year = w.year
)
SELECT
    e.origin_code,
    o.name AS origin_name,
    e.destination_code,
    d.name AS destination_name,
    e.destination_area_type,
    e.year,
    e.stock_shares_usd,
    e.host_income_usd,
    e.host_and_origin_income_usd,
    rank() OVER (PARTITION BY e.origin_code, e.year ORDER BY e.stock_shares_usd DESC) AS stock_shares_rank,
    rank() OVER (PARTITION BY e.origin_code, e.year ORDER BY e.host_income_usd DESC) AS host_income_rank,
    rank() OVER (PARTITION BY e.origin_code, e.year ORDER BY e.host_and_origin_income_usd DESC)
        AS host_and_origin_income_rank,
    e.inflow_usd AS origin_inflow_usd,
    e.migrants,
    e.stock_basis,
    e.host_income AS host_income_per_head_usd,
    e.origin_income AS origin_income_per_head_usd,
    e.host_income IS NULL AS income_imputed,
    ri.release_label AS inflow_release,
    rs.release_label AS stock_release,
    rc.release_label AS income_release
FROM estimated AS e
JOIN dw.dim_country AS o ON o.country_code = e.origin_code
JOIN dw.dim_country AS d ON d.country_code = e.destination_code
JOIN dw.dim_source_release AS ri ON ri.release_id = e.inflow_release_id
JOIN dw.dim_source_release AS rs ON rs.release_id = e.stock_release_id
LEFT JOIN dw.dim_source_release AS rc ON rc.release_id = e.income_release_id
