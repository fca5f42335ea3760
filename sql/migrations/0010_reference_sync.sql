-- One row per reference sync (`diaspora migrate`): the fingerprint of the reference files synced.
-- DAG runs compare it with the files they see and refuse to run on stale reference data.
CREATE TABLE IF NOT EXISTS etl.reference_sync (
    fingerprint VARCHAR(64) NOT NULL,
    synced_at   TIMESTAMP WITH TIME ZONE NOT NULL
);
