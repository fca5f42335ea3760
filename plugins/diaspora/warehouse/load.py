"""Bulk loading: staging table → merge into ``dw``, one transaction per release, audited in ``etl``.

DuckDB reads the DataFrame directly (Arrow scan); PostgreSQL receives it through ``COPY``.
Neither path inserts row by row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from diaspora.warehouse.engine import dialect

COPY_CHUNK_ROWS = 100_000

# Primary keys of the tables that loads merge into; the merge updates every other column given.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "dw.dim_country": ("country_code",),
    "dw.dim_indicator": ("indicator_code",),
    "dw.fact_indicator_value": ("country_code", "indicator_code", "year", "release_id"),
    "dw.dim_country_group": ("group_code",),
    "etl.source_health": ("source",),
    "dw.dim_survey": ("survey_id",),
    "dw.dim_question": ("survey_id", "question_code"),
    "dw.fact_refugee_population": ("origin_code", "asylum_code", "year", "population_type", "release_id"),
    "dw.fact_migrant_stock": ("origin_code", "destination_code", "year", "sex", "release_id"),
}


@dataclass(frozen=True)
class ReleaseInfo:
    """One release of one source: what ``dw.dim_source_release`` records."""

    source: str
    publisher: str
    dataset: str
    release_label: str | None
    release_date: date | None
    url: str
    content_sha256: str
    fetched_at: datetime
    licence: str
    citation: str
    raw_location: str


@dataclass(frozen=True)
class RunContext:
    """Who is loading: the Airflow DAG and run, or a CLI invocation."""

    dag_id: str | None = None
    run_id: str | None = None


def _quote_columns(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def bulk_insert(conn: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` with the engine's bulk path."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    if dialect(conn) == "duckdb":
        duck = conn.connection.driver_connection
        view = f"frame_{uuid.uuid4().hex}"
        duck.register(view, frame)
        try:
            duck.execute(
                f"INSERT INTO {table} ({_quote_columns(columns)}) "
                f"SELECT {_quote_columns(columns)} FROM {view}"
            )
        finally:
            duck.unregister(view)
    else:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({_quote_columns(columns)}) FROM STDIN") as copy:
            # Python objects with None for missing values, as COPY's row writer expects; in chunks,
            # so that a few million rows never exist as Python objects all at once.
            for start in range(0, len(frame), COPY_CHUNK_ROWS):
                chunk = frame.iloc[start : start + COPY_CHUNK_ROWS]
                for row in chunk.astype(object).where(chunk.notna(), None).itertuples(index=False, name=None):
                    copy.write_row(row)
    return len(frame)


def merge(conn: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """Upsert ``frame`` into ``table`` through a transient staging table; return rows merged.

    Only the columns present in ``frame`` are written, so a source that owns some columns of a
    shared dimension never blanks the columns another source owns.
    """
    if frame.empty:
        return 0
    key = TABLE_KEYS[table]
    columns = list(frame.columns)
    missing_key = [k for k in key if k not in columns]
    if missing_key:
        raise ValueError(f"rows for {table} lack key column(s) {missing_key}")
    staging = f"staging.{table.split('.')[-1]}__{uuid.uuid4().hex[:12]}"
    conn.exec_driver_sql(
        f"CREATE TABLE {staging} AS SELECT {_quote_columns(columns)} FROM {table} WHERE 1 = 0"
    )
    bulk_insert(conn, staging, frame)
    updates = [c for c in columns if c not in key]
    action = (
        "DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updates) if updates else "DO NOTHING"
    )
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({_quote_columns(columns)}) "
        f"SELECT {_quote_columns(columns)} FROM {staging} "
        f"ON CONFLICT ({_quote_columns(key)}) {action}"
    )
    conn.exec_driver_sql(f"DROP TABLE {staging}")
    return len(frame)


def register_release(conn: sa.Connection, release: ReleaseInfo) -> int:
    """Insert the release (or find it by its content hash) and return its ``release_id``."""
    values = asdict(release)
    conn.execute(
        sa.text(
            "INSERT INTO dw.dim_source_release (source, publisher, dataset, release_label,"
            " release_date, url, content_sha256, fetched_at, licence, citation, raw_location)"
            " VALUES (:source, :publisher, :dataset, :release_label, :release_date, :url,"
            " :content_sha256, :fetched_at, :licence, :citation, :raw_location)"
            " ON CONFLICT (source, content_sha256) DO NOTHING"
        ),
        values,
    )
    return conn.execute(
        sa.text(
            "SELECT release_id FROM dw.dim_source_release"
            " WHERE source = :source AND content_sha256 = :content_sha256"
        ),
        values,
    ).scalar_one()


def record_load_run(
    conn: sa.Connection,
    *,
    source: str,
    status: str,
    started_at: datetime,
    run: RunContext,
    release: ReleaseInfo | None = None,
    release_id: int | None = None,
    rows_in: int | None = None,
    rows_loaded: int | None = None,
    message: str | None = None,
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO etl.load_run (source, dag_id, run_id, release_id, release_label,"
            " content_sha256, status, rows_in, rows_loaded, started_at, finished_at, message)"
            " VALUES (:source, :dag_id, :run_id, :release_id, :release_label, :content_sha256,"
            " :status, :rows_in, :rows_loaded, :started_at, :finished_at, :message)"
        ),
        {
            "source": source,
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "release_id": release_id,
            "release_label": release.release_label if release else None,
            "content_sha256": release.content_sha256 if release else None,
            "status": status,
            "rows_in": rows_in,
            "rows_loaded": rows_loaded,
            "started_at": started_at,
            "finished_at": datetime.now(UTC),
            "message": message,
        },
    )


def loaded_release_label(engine: sa.Engine, source: str, content_sha256: str) -> str | None:
    """The label of the release with this exact content if it was loaded successfully, else None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT coalesce(release_label, '(unlabelled)') FROM etl.load_run"
                " WHERE source = :s AND content_sha256 = :h AND status = 'success'"
                " ORDER BY finished_at DESC LIMIT 1"
            ),
            {"s": source, "h": content_sha256},
        ).first()
    return row[0] if row else None


def previous_row_count(engine: sa.Engine, source: str) -> int | None:
    """Rows in the last successfully loaded release of ``source`` (None before the first load)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT rows_in FROM etl.load_run WHERE source = :s AND status = 'success'"
                " ORDER BY finished_at DESC, load_id DESC LIMIT 1"
            ),
            {"s": source},
        ).first()
    return int(row[0]) if row and row[0] is not None else None


def record_validation_results(conn: sa.Connection, rows: list[dict]) -> None:
    """Append one ``etl.validation_result`` row per expectation outcome."""
    if not rows:
        return
    conn.execute(
        sa.text(
            "INSERT INTO etl.validation_result (source, suite, dag_id, run_id, content_sha256,"
            " release_label, expectation_type, column_name, kwargs_json, success,"
            " unexpected_count, unexpected_percent, observed_value, sample_values, validated_at)"
            " VALUES (:source, :suite, :dag_id, :run_id, :content_sha256, :release_label,"
            " :expectation_type, :column_name, :kwargs_json, :success, :unexpected_count,"
            " :unexpected_percent, :observed_value, :sample_values, :validated_at)"
        ),
        rows,
    )


def to_json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)
