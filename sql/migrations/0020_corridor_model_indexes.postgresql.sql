-- PostgreSQL only: mart.remittance_corridors, recreated by 0019, read by origin and by host.
CREATE INDEX IF NOT EXISTS remittance_corridors_origin_year ON mart.remittance_corridors (origin_code, year);
CREATE INDEX IF NOT EXISTS remittance_corridors_destination_year ON mart.remittance_corridors (destination_code, year);
CREATE INDEX IF NOT EXISTS published_remittance_comparison_origin_year
    ON mart.published_remittance_comparison (origin_code, year);
