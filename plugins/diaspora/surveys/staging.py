"""A survey file read, checked, protected and staged chunk by chunk in tables of its own.

Each chunk is committed to staging before the next is read, so memory holds one chunk on either
engine (an open DuckDB transaction would keep every row of the file in memory); publishing then
moves the staged answers into ``dw`` at once. Staging tables are dropped either way; those of a
load that was killed are dropped later by :func:`drop_stale_staging`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from diaspora.settings import Settings
from diaspora.surveys.answers import RESPONSE_COLUMNS, labels_json, protected_responses
from diaspora.surveys.definitions import SurveyDefinition
from diaspora.surveys.readers import IntakeError, IntakeLimits, open_survey_file
from diaspora.surveys.reasons import MAX_REASONS, check_chunk, file_row
from diaspora.warehouse.load import bulk_insert, create_table_like

log = logging.getLogger(__name__)
STAGING_PREFIX = "survey_response__"  # + UTC time + random: staging.survey_response__20261122235903_1a2b3c4d
STALE_STAGING = timedelta(hours=6)


@contextmanager
def staging_tables(engine: sa.Engine) -> Iterator[str]:
    """A new staging table for the file's answers (and ``<it>_ids`` for its respondent ids),
    dropped on the way out whatever happened; its name sorts by the UTC time it was made."""
    staging = f"staging.{STAGING_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        create_table_like(conn, staging, like="dw.fact_survey_response", columns=RESPONSE_COLUMNS)
        conn.exec_driver_sql(
            f"CREATE TABLE {staging}_ids (respondent_id TEXT NOT NULL, file_row BIGINT NOT NULL)"
        )
    try:
        yield staging
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging}_ids")


def stage_chunks(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, staging: str, settings: Settings
) -> dict:
    """Read, check, protect and stage the file chunk by chunk; raise IntakeError with every problem.

    Once a chunk fails, later chunks are still checked (every reason is reported) but no longer
    staged; reading stops after :data:`MAX_REASONS` reasons.
    """
    file_format, chunks = open_survey_file(
        path, definition.format, limits=IntakeLimits.from_settings(settings)
    )
    suite = settings.expectations_dir / f"survey_{definition.survey_id}.json"
    reasons: list[str] = []
    value_labels: dict[str, dict] = {}
    rows_in = answers = 0
    seconds = {"read": 0.0, "validate": 0.0, "load": 0.0}  # where the time goes, for the benchmark
    clock = time.perf_counter()
    for frame, labels in chunks:
        value_labels = value_labels or labels  # the same in every chunk of a file
        seconds["read"] += time.perf_counter() - clock
        clock = time.perf_counter()
        prepared, found = check_chunk(frame, definition, suite, path.name, file_format, rows_in)
        reasons += found
        seconds["validate"] += time.perf_counter() - clock
        clock = time.perf_counter()
        with engine.begin() as conn:
            _stage_ids(conn, f"{staging}_ids", prepared, definition, file_format, rows_in)
            if not reasons:
                answers += bulk_insert(
                    conn, staging, protected_responses(prepared, definition, settings.survey_salt)
                )
        seconds["load"] += time.perf_counter() - clock
        clock = time.perf_counter()
        rows_in += len(frame)
        if len(reasons) >= MAX_REASONS:
            reasons.append(f"stopped after {rows_in} rows: more than {MAX_REASONS} problems")
            break
    with engine.connect() as conn:
        reasons += _ids_repeated_across_chunks(conn, f"{staging}_ids", definition)
    if reasons:
        raise IntakeError(*reasons)
    return {
        "rows": rows_in,
        "answers": answers,
        "format": file_format,
        "value_labels": labels_json(value_labels, definition),
        "seconds": seconds,
    }


def _stage_ids(
    conn: sa.Connection,
    ids_table: str,
    prepared: pd.DataFrame,
    definition: SurveyDefinition,
    file_format: str,
    offset: int,
) -> None:
    """Keep each chunk's respondent ids (first row of each) in the database, not in memory, to
    find ids repeated across chunks at the end; repeats within a chunk are the suite's to report."""
    if definition.respondent_id not in prepared:
        return
    ids = prepared[definition.respondent_id].dropna().drop_duplicates()
    bulk_insert(
        conn,
        ids_table,
        pd.DataFrame(
            {
                "respondent_id": ids.astype(str).to_numpy(),
                "file_row": [file_row(p, file_format, offset) for p in ids.index],
            }
        ),
    )


def _ids_repeated_across_chunks(
    conn: sa.Connection, ids_table: str, definition: SurveyDefinition
) -> list[str]:
    """The one reason (with up to five examples and their rows) if ids repeat across chunks."""
    repeated = f"SELECT respondent_id FROM {ids_table} GROUP BY respondent_id HAVING count(*) > 1"
    count = conn.exec_driver_sql(f"SELECT count(*) FROM ({repeated}) AS r").scalar_one()
    if not count:
        return []
    examples = conn.exec_driver_sql(
        f"SELECT respondent_id, file_row FROM {ids_table} WHERE respondent_id IN"
        f" (SELECT respondent_id FROM ({repeated}) AS r ORDER BY respondent_id LIMIT 5)"
        " ORDER BY respondent_id, file_row"
    ).all()
    rows = [
        f"{rid!r} at rows {[r for i, r in examples if i == rid]}"
        for rid in dict.fromkeys(i for i, _ in examples)
    ]
    return [
        f"respondent ids repeated across the file ({definition.respondent_id}): {count}, e.g. "
        + "; ".join(rows)
    ]


def drop_stale_staging(engine: sa.Engine, older_than: timedelta = STALE_STAGING) -> list[str]:
    """Drop staging tables left by a load that was killed (they are dropped otherwise). Only old
    ones: a younger one may belong to a load running now in another task."""
    cutoff = f"{STAGING_PREFIX}{datetime.now(UTC) - older_than:%Y%m%d%H%M%S}"
    with engine.begin() as conn:
        names = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'staging' AND table_name LIKE :prefix AND table_name < :cutoff"
            ),
            {"prefix": f"{STAGING_PREFIX}%", "cutoff": cutoff},
        ).scalars()
        dropped = sorted(names)
        for name in dropped:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS staging.{name}")
    if dropped:
        log.warning("Dropped %d staging table(s) left by interrupted survey loads: %s", len(dropped), dropped)
    return dropped
