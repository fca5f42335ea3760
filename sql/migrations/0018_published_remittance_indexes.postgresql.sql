-- PostgreSQL only, as 0009 and 0012 for the other fact tables: BRIN on the release (loads delete
-- and count a release's rows) and on the receiving country (the parse step writes each release
-- sorted by it). DuckDB skips row groups by their min/max and needs none.
CREATE INDEX IF NOT EXISTS fact_published_remittance_release ON dw.fact_published_remittance USING brin (release_id);
CREATE INDEX IF NOT EXISTS fact_published_remittance_receiving ON dw.fact_published_remittance USING brin (receiving_code);
