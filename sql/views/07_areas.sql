-- Places and groups, for BI filters and labels (and the factsheets, which read reporting only).

-- Every country, territory, aggregate and special area the warehouse knows, with its kind.
CREATE OR REPLACE VIEW reporting.areas AS
SELECT
    country_code, name, area_type, is_aggregate, iso2, m49, wb_region, wb_income_group, un_region,
    un_subregion
FROM dw.dim_country;

-- Country groups (EU, EEA, EFTA, CIS, …) with their members and when each belonged.
CREATE OR REPLACE VIEW reporting.country_groups AS
SELECT g.group_code, g.name AS group_name, b.country_code, b.valid_from, b.valid_to
FROM dw.dim_country_group AS g
LEFT JOIN dw.bridge_country_group AS b ON b.group_code = g.group_code;
