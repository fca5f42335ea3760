-- PostgreSQL only: indexes on the filters BI tools use — country of origin, destination, year.
--
-- Reporting-layer tables (at most 224,352 rows, rebuilt at load): B-trees. Fact tables: BRIN on
-- the origin, because the parse step writes each release sorted by it, so a block range holds a
-- few origins; it costs a load almost nothing, where a B-tree on a text column of the 1.25 M-row
-- UNHCR table took 1.8 s to build here. DuckDB needs none: it skips row groups by their min/max.
CREATE INDEX IF NOT EXISTS fact_indicator_value_country ON dw.fact_indicator_value USING brin (country_code);
CREATE INDEX IF NOT EXISTS fact_migrant_stock_origin ON dw.fact_migrant_stock USING brin (origin_code);
CREATE INDEX IF NOT EXISTS fact_refugee_population_origin ON dw.fact_refugee_population USING brin (origin_code);

CREATE INDEX IF NOT EXISTS remittances_country_year ON mart.remittances (country_code, year);
CREATE INDEX IF NOT EXISTS remittances_year ON mart.remittances (year);
CREATE INDEX IF NOT EXISTS emigrants_by_destination_origin_year ON mart.emigrants_by_destination (origin_code, year);
CREATE INDEX IF NOT EXISTS emigrants_by_destination_destination_year ON mart.emigrants_by_destination (destination_code, year);
CREATE INDEX IF NOT EXISTS emigrants_in_group_origin_year ON mart.emigrants_in_group (origin_code, year);
CREATE INDEX IF NOT EXISTS emigrants_in_group_group_year ON mart.emigrants_in_group (group_code, year);
CREATE INDEX IF NOT EXISTS diaspora_profile_country_year ON mart.diaspora_profile (country_code, year);
CREATE INDEX IF NOT EXISTS refugees_country_year ON mart.refugees (country_code, year);
CREATE INDEX IF NOT EXISTS refugees_year ON mart.refugees (year);
