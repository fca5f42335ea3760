-- PostgreSQL only: the revisions BI reads by diff and by country (DuckDB skips row groups itself).
CREATE INDEX IF NOT EXISTS value_revision_diff ON etl.value_revision (diff_id);
CREATE INDEX IF NOT EXISTS value_revision_country_year ON etl.value_revision (country_code, year);
