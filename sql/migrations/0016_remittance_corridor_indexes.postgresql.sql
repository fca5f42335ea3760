-- PostgreSQL only: the corridor estimates are read by origin (a country's sources of remittances)
-- and by host (what it sends), each for a year and a method.
CREATE INDEX IF NOT EXISTS remittance_corridors_origin_year ON mart.remittance_corridors (origin_code, year);
CREATE INDEX IF NOT EXISTS remittance_corridors_destination_year ON mart.remittance_corridors (destination_code, year);
CREATE INDEX IF NOT EXISTS remittance_corridor_gaps_country_year ON mart.remittance_corridor_gaps (country_code, year);
