-- The yearly reporting views gain year_date (the year as a DATE, 1 January) right after year, the
-- time column BI tools need. PostgreSQL's CREATE OR REPLACE VIEW may only append columns, so the
-- views are dropped here once and recreated with the new column after migrations (sql/views); their
-- comments are applied again with them, and the BI role's SELECT with its grant (`diaspora migrate`
-- with DIASPORA_BI_PASSWORD). Nothing in the warehouse reads these views.

DROP VIEW IF EXISTS reporting.indicator_values;
DROP VIEW IF EXISTS reporting.remittances;
DROP VIEW IF EXISTS reporting.migrant_stock;
DROP VIEW IF EXISTS reporting.emigrants_by_destination;
DROP VIEW IF EXISTS reporting.emigrants_in_group;
DROP VIEW IF EXISTS reporting.diaspora_profile;
DROP VIEW IF EXISTS reporting.refugee_population;
DROP VIEW IF EXISTS reporting.refugees;
DROP VIEW IF EXISTS reporting.value_revisions;
DROP VIEW IF EXISTS reporting.indicator_values_by_release;
DROP VIEW IF EXISTS reporting.migrant_stock_by_release;
DROP VIEW IF EXISTS reporting.refugee_population_by_release;
DROP VIEW IF EXISTS reporting.published_remittances_by_release;
DROP VIEW IF EXISTS reporting.remittance_corridors;
DROP VIEW IF EXISTS reporting.remittance_corridor_gaps;
DROP VIEW IF EXISTS reporting.published_remittance_comparison;
DROP VIEW IF EXISTS reporting.published_remittance_accuracy;
