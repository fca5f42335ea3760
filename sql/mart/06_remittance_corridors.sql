-- mart.remittance_corridors: MODEL ESTIMATES of personal remittances by corridor (origin country ←
-- host country), every year with an observed inflow from UN DESA's first reference year on. A
-- country's observed inflow (BX.TRF.PWKR.CD.DT) is shared among the places its emigrants live, in
-- proportion to a weight per migrant (Ratha and Shaw 2007, World Bank Working Paper 102):
--   stock_shares      1: migrants alone
--   published_method  the World Bank/KNOMAD matrices' rule: the origin's GDP per head in PPP (Y_o,
--                     NY.GDP.PCAP.PP.KD), plus (Y_h - Y_o) ^ income_gap_exponent where the host's
--                     Y_h is higher. The World Bank names these inputs (stocks, host and origin
--                     incomes per head in PPP); the exponent (0.75, dw.remittance_model_parameter) is
--                     an inference from replications of the published matrix (reference/remittance_corridors.yml).
-- Stocks between reference years are interpolated linearly (absent pair = 0 migrants); after the
-- last reference year the last stock is held (stock_basis 'held from UN DESA <year>'). A country
-- whose emigrants UN DESA counts within another (Kosovo within Serbia: dw.remittance_stock_proxy)
-- borrows that country's stock. Corridors the publisher does not estimate
-- (dw.remittance_corridor_exclusion) get no estimate: the inflow goes to the other hosts. A host
-- without income for the year gets the migrant-weighted mean weight of the origin's other hosts,
-- and an origin without income gets stock shares, both flagged income_imputed. Per origin, year
-- and method the estimates add up to the inflow (sql/mart/checks/06_remittance_corridors.sql).
-- One row per corridor and year, a column per method; reporting.remittance_corridors shows a row
-- per method.
WITH reference_years AS (
    SELECT DISTINCT year FROM mart.current_migrant_stock WHERE sex = 'both'
),
spans AS (
    SELECT year AS from_year, lead(year) OVER (ORDER BY year) AS to_year FROM reference_years
),
own_stock AS (
    SELECT s.origin_code, s.destination_code, d.area_type AS destination_area_type, s.year, s.migrants,
        s.release_id
    FROM mart.current_migrant_stock AS s
    JOIN dw.dim_country AS o ON o.country_code = s.origin_code
    JOIN dw.dim_country AS d ON d.country_code = s.destination_code
    WHERE s.sex = 'both' AND o.area_type IN ('country', 'territory') AND d.area_type <> 'aggregate'
        AND s.migrants IS NOT NULL
),
stock AS (  -- each origin's own stock, and the borrowed stock of a country UN DESA counts in another
    SELECT origin_code, destination_code, destination_area_type, year, migrants, release_id,
        CAST(NULL AS TEXT) AS stock_proxy_code
    FROM own_stock
    UNION ALL
    SELECT p.country_code, s.destination_code, s.destination_area_type, s.year, s.migrants, s.release_id,
        p.proxy_code
    FROM dw.remittance_stock_proxy AS p
    JOIN own_stock AS s ON s.origin_code = p.proxy_code
    WHERE s.destination_code <> p.country_code
        AND NOT EXISTS (SELECT 1 FROM own_stock AS o WHERE o.origin_code = p.country_code)
),
pairs AS (
    SELECT DISTINCT s.origin_code, s.destination_code, s.destination_area_type, s.stock_proxy_code
    FROM stock AS s
    WHERE NOT EXISTS (
        SELECT 1 FROM dw.remittance_corridor_exclusion AS x
        WHERE x.origin_code = s.origin_code AND x.destination_code = s.destination_code
    )
),
income AS (
    SELECT country_code, year, value AS income_per_head, release_id
    FROM mart.current_indicator_value
    WHERE indicator_code = 'NY.GDP.PCAP.PP.KD' AND value > 0
),
exponent AS (
    SELECT value AS income_gap_exponent FROM dw.remittance_model_parameter WHERE name = 'income_gap_exponent'
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
        k.stock_proxy_code,
        i.year,
        i.inflow_usd,
        i.release_id AS inflow_release_id,
        i.origin_income,
        coalesce(a.release_id, b.release_id) AS stock_release_id,
        CASE WHEN i.year = s.from_year THEN 'UN DESA ' || CAST(s.from_year AS TEXT)
            WHEN s.to_year IS NULL THEN 'held from UN DESA ' || CAST(s.from_year AS TEXT)
            ELSE 'interpolated ' || CAST(s.from_year AS TEXT) || '-' || CAST(s.to_year AS TEXT)
        END AS stock_basis,
        CASE WHEN i.year = s.from_year OR s.to_year IS NULL THEN coalesce(a.migrants, 0)
            ELSE coalesce(a.migrants, 0) + (coalesce(b.migrants, 0) - coalesce(a.migrants, 0))
                * CAST(i.year - s.from_year AS DOUBLE PRECISION) / (s.to_year - s.from_year)
        END AS migrants
    FROM inflow AS i
    JOIN spans AS s ON i.year >= s.from_year AND (i.year < s.to_year OR s.to_year IS NULL)
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
        -- the published method's income per migrant: the origin's, plus a share of the host's
        -- higher income (a migrant in a poorer host is taken to earn what they would at home)
        CASE WHEN p.origin_income IS NULL OR h.income_per_head IS NULL THEN NULL
            WHEN h.income_per_head > p.origin_income
                THEN p.origin_income + power(h.income_per_head - p.origin_income, e.income_gap_exponent)
            ELSE p.origin_income
        END AS migrant_income
    FROM interpolated AS p
    CROSS JOIN exponent AS e
    LEFT JOIN income AS h ON h.country_code = p.destination_code AND h.year = p.year
    WHERE p.migrants > 0
),
-- Per origin and year: the migrants, and the migrant-weighted mean income over the hosts that have
-- one (what a host without it is given). Grouped, not windowed: PostgreSQL sorted the windows'
-- text keys for seconds where a hash aggregate takes a fraction.
origin_totals AS (
    SELECT
        origin_code,
        year,
        sum(migrants) AS migrants,
        sum(migrants * migrant_income) / sum(CASE WHEN migrant_income IS NOT NULL THEN migrants END)
            AS mean_migrant_income
    FROM with_income
    GROUP BY origin_code, year
),
weighted AS (
    SELECT
        w.*,
        w.migrants * coalesce(w.migrant_income, t.mean_migrant_income, 1.0) AS income_weight,
        t.migrants AS origin_migrants
    FROM with_income AS w
    JOIN origin_totals AS t ON t.origin_code = w.origin_code AND t.year = w.year
),
weight_totals AS (
    SELECT origin_code, year, sum(income_weight) AS income_weight_total
    FROM weighted
    GROUP BY origin_code, year
),
estimated AS (
    SELECT
        w.*,
        w.inflow_usd * w.migrants / w.origin_migrants AS stock_shares_usd,
        w.inflow_usd * w.income_weight / t.income_weight_total AS published_method_usd
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
    e.published_method_usd,
    rank() OVER (PARTITION BY e.origin_code, e.year ORDER BY e.stock_shares_usd DESC) AS stock_shares_rank,
    rank() OVER (PARTITION BY e.origin_code, e.year ORDER BY e.published_method_usd DESC) AS published_method_rank,
    e.inflow_usd AS origin_inflow_usd,
    e.migrants,
    e.stock_basis,
    e.stock_proxy_code,
    e.host_income AS host_income_per_head_ppp,
    e.origin_income AS origin_income_per_head_ppp,
    e.migrant_income IS NULL AS income_imputed,
    ri.release_label AS inflow_release,
    rs.release_label AS stock_release,
    rc.release_label AS income_release
FROM estimated AS e
JOIN dw.dim_country AS o ON o.country_code = e.origin_code
JOIN dw.dim_country AS d ON d.country_code = e.destination_code
JOIN dw.dim_source_release AS ri ON ri.release_id = e.inflow_release_id
JOIN dw.dim_source_release AS rs ON rs.release_id = e.stock_release_id
LEFT JOIN dw.dim_source_release AS rc ON rc.release_id = e.income_release_id
