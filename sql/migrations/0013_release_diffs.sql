-- What each new release changed against the release before it (plugins/diaspora/revisions.py).
-- Written by the load, in its transaction, for every release that has a previous one; a release
-- quarantined by the revision policy gets its summary row (status quarantined) and no values.

CREATE SEQUENCE IF NOT EXISTS etl.release_diff_id_seq;

CREATE TABLE IF NOT EXISTS etl.release_diff (
    diff_id              BIGINT PRIMARY KEY,
    source               TEXT NOT NULL,
    fact_table           TEXT NOT NULL,
    old_release_id       BIGINT,              -- NULL: the source's first release
    new_release_id       BIGINT,              -- NULL: quarantined, never loaded
    old_release_label    TEXT,
    new_release_label    TEXT,
    new_content_sha256   VARCHAR(64) NOT NULL,
    status               TEXT NOT NULL,       -- loaded | accepted (loaded despite the policy) | quarantined
    rows_old             BIGINT NOT NULL,
    rows_new             BIGINT NOT NULL,
    added                BIGINT NOT NULL,     -- keys only in the new release
    removed              BIGINT NOT NULL,     -- keys only in the old release
    revised              BIGINT NOT NULL,     -- keys in both whose value differs (or became known/unknown)
    unchanged            BIGINT NOT NULL,
    countries_added      TEXT NOT NULL,       -- JSON lists of codes and years
    countries_removed    TEXT NOT NULL,
    years_added          TEXT NOT NULL,
    years_removed        TEXT NOT NULL,
    largest_revisions    TEXT,                -- JSON {absolute: [...], relative: [...]}
    revised_totals       TEXT,                -- JSON: country totals revised beyond the policy's threshold
    revised_totals_count BIGINT NOT NULL,
    policy_breaches      TEXT,                -- JSON: why the policy quarantines the release
    computed_at          TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Every added, removed or revised value of a loaded release's diff, its key in the same roles for
-- every fact table: country (of origin), counterpart (destination, country of asylum), measure
-- (indicator code, population type, 'migrants'), breakdown (sex), year.
CREATE TABLE IF NOT EXISTS etl.value_revision (
    diff_id          BIGINT NOT NULL,
    change_kind      TEXT NOT NULL,           -- added | removed | revised
    country_code     TEXT NOT NULL,
    counterpart_code TEXT,
    measure          TEXT NOT NULL,
    breakdown        TEXT,
    year             INTEGER NOT NULL,
    old_value        DOUBLE PRECISION,        -- NULL: not in the old release, or not available there
    new_value        DOUBLE PRECISION
);
