-- Expected cadence and hold-back thresholds per source (synced from config/source_health.yml).

CREATE TABLE IF NOT EXISTS etl.source_health (
    source         TEXT PRIMARY KEY,
    cadence_days   INTEGER NOT NULL,
    value_jump     DOUBLE PRECISION NOT NULL,
    max_jump_share DOUBLE PRECISION NOT NULL
);
