-- Diaspora engagement: institutions, organisations abroad and policy milestones, one timeline.
CREATE OR REPLACE VIEW reporting.diaspora_engagement AS
SELECT
    i.country_code,
    'institution' AS item_type,
    i.name,
    i.level AS category,
    i.role AS detail,
    CAST(NULL AS TEXT) AS host_country_code,
    CAST(NULL AS TEXT) AS host_country_name,
    i.status,
    i.valid_from,
    i.valid_to,
    i.source
FROM dw.dim_diaspora_institution AS i
UNION ALL
SELECT
    o.country_code,
    'organisation' AS item_type,
    o.name,
    o.activities AS category,
    CAST(NULL AS TEXT) AS detail,
    o.host_country_code,
    h.name AS host_country_name,
    CAST(NULL AS TEXT) AS status,
    o.valid_from,
    o.valid_to,
    o.source
FROM dw.dim_diaspora_organisation AS o
LEFT JOIN dw.dim_country AS h ON h.country_code = o.host_country_code
UNION ALL
SELECT
    p.country_code,
    'policy' AS item_type,
    p.title AS name,
    p.kind AS category,
    CAST(NULL AS TEXT) AS detail,
    CAST(NULL AS TEXT) AS host_country_code,
    CAST(NULL AS TEXT) AS host_country_name,
    p.status,
    p.valid_from,
    p.valid_to,
    p.source
FROM dw.fact_diaspora_policy AS p;

-- The political rights of citizens abroad, per country.
CREATE OR REPLACE VIEW reporting.political_rights AS
SELECT country_code, dual_citizenship, dual_citizenship_with, dual_citizenship_since, voting_from_abroad, source
FROM dw.dim_political_rights;
