-- The current rows of each fact table: the newest release's rows (rank 1 in mart.current_release),
-- and an older release's rows for the values no newer release carries (mart.current_release keeps
-- such a release only while it holds one; usually there is none). The reporting views and the
-- reporting layer's tables read facts only through these views. Schema mart: BI users never
-- query it directly.

CREATE OR REPLACE VIEW mart.current_indicator_value AS
SELECT f.country_code, f.indicator_code, f.year, f.release_id, f.value, f.obs_status, f.quality_flags
FROM dw.fact_indicator_value AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank = 1
UNION ALL
SELECT f.country_code, f.indicator_code, f.year, f.release_id, f.value, f.obs_status, f.quality_flags
FROM dw.fact_indicator_value AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank > 1 AND NOT EXISTS (
    SELECT 1
    FROM dw.fact_indicator_value AS n
    JOIN mart.current_release AS nc ON nc.release_id = n.release_id
    WHERE nc.release_rank < c.release_rank
            AND n.country_code = f.country_code
            AND n.indicator_code = f.indicator_code
            AND n.year = f.year
);

CREATE OR REPLACE VIEW mart.current_migrant_stock AS
SELECT f.origin_code, f.destination_code, f.year, f.sex, f.release_id, f.migrants, f.data_type,
        f.coverage, f.quality_flags
FROM dw.fact_migrant_stock AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank = 1
UNION ALL
SELECT f.origin_code, f.destination_code, f.year, f.sex, f.release_id, f.migrants, f.data_type,
        f.coverage, f.quality_flags
FROM dw.fact_migrant_stock AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank > 1 AND NOT EXISTS (
    SELECT 1
    FROM dw.fact_migrant_stock AS n
    JOIN mart.current_release AS nc ON nc.release_id = n.release_id
    WHERE nc.release_rank < c.release_rank
            AND n.origin_code = f.origin_code
            AND n.destination_code = f.destination_code
            AND n.year = f.year
            AND n.sex = f.sex
);

CREATE OR REPLACE VIEW mart.current_refugee_population AS
SELECT f.origin_code, f.asylum_code, f.year, f.population_type, f.release_id, f.persons,
        f.quality_flags
FROM dw.fact_refugee_population AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank = 1
UNION ALL
SELECT f.origin_code, f.asylum_code, f.year, f.population_type, f.release_id, f.persons,
        f.quality_flags
FROM dw.fact_refugee_population AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank > 1 AND NOT EXISTS (
    SELECT 1
    FROM dw.fact_refugee_population AS n
    JOIN mart.current_release AS nc ON nc.release_id = n.release_id
    WHERE nc.release_rank < c.release_rank
            AND n.origin_code = f.origin_code
            AND n.asylum_code = f.asylum_code
            AND n.year = f.year
            AND n.population_type = f.population_type
);

CREATE OR REPLACE VIEW mart.current_published_remittance AS
SELECT f.receiving_code, f.sending_code, f.year, f.release_id, f.remittances_usd, f.estimate_status,
        f.quality_flags
FROM dw.fact_published_remittance AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank = 1
UNION ALL
SELECT f.receiving_code, f.sending_code, f.year, f.release_id, f.remittances_usd, f.estimate_status,
        f.quality_flags
FROM dw.fact_published_remittance AS f
JOIN mart.current_release AS c ON c.release_id = f.release_id
WHERE c.release_rank > 1 AND NOT EXISTS (
    SELECT 1
    FROM dw.fact_published_remittance AS n
    JOIN mart.current_release AS nc ON nc.release_id = n.release_id
    WHERE nc.release_rank < c.release_rank
            AND n.receiving_code = f.receiving_code
            AND n.sending_code = f.sending_code
            AND n.year = f.year
);
