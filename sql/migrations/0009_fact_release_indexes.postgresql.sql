-- PostgreSQL only: loads delete and count a fact table's rows by release. DuckDB finds a release
-- through its zone maps and loses a third of its insert speed to an index, so it has none.
CREATE INDEX IF NOT EXISTS fact_indicator_value_release ON dw.fact_indicator_value (release_id);
CREATE INDEX IF NOT EXISTS fact_migrant_stock_release ON dw.fact_migrant_stock (release_id);
CREATE INDEX IF NOT EXISTS fact_refugee_population_release ON dw.fact_refugee_population (release_id);
