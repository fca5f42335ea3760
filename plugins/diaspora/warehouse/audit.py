"""The ``etl`` audit trail of loads: releases registered, load runs, validation results.

Kept apart from :mod:`diaspora.warehouse.load`, which writes the data: this module records
what was written, by whom and with which outcome, in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from diaspora.warehouse.load import TableCount


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
    table_counts: Iterable[TableCount] = (),
    reporting_refresh: dict[str, dict] | None = None,
) -> None:
    """One ``etl.load_run`` row; ``rows_loaded`` and ``table_counts`` are counts read back;
    ``reporting_refresh`` says what the load refreshed in the reporting layer (rows, seconds)."""
    counts = {c.table: c.as_dict() for c in table_counts}
    conn.execute(
        sa.text(
            "INSERT INTO etl.load_run (source, dag_id, run_id, release_id, release_label,"
            " content_sha256, status, rows_in, rows_loaded, started_at, finished_at, message,"
            " table_counts, reporting_refresh)"
            " VALUES (:source, :dag_id, :run_id, :release_id, :release_label, :content_sha256,"
            " :status, :rows_in, :rows_loaded, :started_at, :finished_at, :message, :table_counts,"
            " :reporting_refresh)"
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
            "table_counts": to_json_text(counts) if counts else None,
            "reporting_refresh": to_json_text(reporting_refresh) if reporting_refresh else None,
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


def record_validation_results(conn: sa.Connection, rows: list[dict]) -> None:
    """Append one ``etl.validation_result`` row per expectation outcome."""
    if not rows:
        return
    conn.execute(
        sa.text(
            "INSERT INTO etl.validation_result (source, suite, dag_id, run_id, content_sha256,"
            " release_label, expectation_type, column_name, kwargs_json, success,"
            " unexpected_count, unexpected_percent, observed_value, sample_values, validated_at,"
            " severity)"
            " VALUES (:source, :suite, :dag_id, :run_id, :content_sha256, :release_label,"
            " :expectation_type, :column_name, :kwargs_json, :success, :unexpected_count,"
            " :unexpected_percent, :observed_value, :sample_values, :validated_at, :severity)"
        ),
        rows,
    )


def to_json_text(value: object) -> str | None:
    """``value`` as JSON text for a TEXT column of ``etl`` (dates and the like as strings), keys sorted."""
    return None if value is None else json.dumps(value, default=str, sort_keys=True)
