"""The warehouse: one logical model on DuckDB (embedded default) and PostgreSQL (production)."""
