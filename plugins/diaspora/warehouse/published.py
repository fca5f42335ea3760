"""On the embedded default (DuckDB), readers read a published copy of the reporting layer.

DuckDB lets one process hold a database file for writing, and then no other process may open it,
not even read-only: while a DAG loads, a BI tool, ``diaspora report`` or a factsheet could not read
the warehouse. So after every commit that changes the reporting layer (a load, a survey file, a
reference sync) the writer copies every ``reporting`` view, as tables with their descriptions, into
a new DuckDB file and swaps it in with one atomic rename: readers open the published file
read-only, never block a DAG and never see a half-loaded release (a reader that has the file open
keeps the copy it opened until it reconnects). On PostgreSQL readers and writers share the
warehouse itself, and nothing is published.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import sqlalchemy as sa

from diaspora.settings import Settings
from diaspora.warehouse.bi_catalog import _literal, reporting_columns, reporting_docs
from diaspora.warehouse.engine import get_engine

log = logging.getLogger(__name__)


def is_published(settings: Settings) -> bool:
    """True where readers read a published copy: a DuckDB warehouse in a file."""
    url = sa.make_url(settings.warehouse_url)
    return url.get_backend_name() == "duckdb" and url.database not in (None, "", ":memory:")


def reading_url(settings: Settings) -> str:
    """The URL readers of the reporting layer use: the published copy (read-only) on DuckDB, the
    warehouse on PostgreSQL."""
    if not is_published(settings):
        return settings.warehouse_url
    return f"duckdb:///{settings.reporting_copy_path}?access_mode=read_only"


def publish(settings: Settings) -> float | None:
    """Write the reporting layer into a new file and swap it in for the published one; the seconds
    it took (None on PostgreSQL). Called by the writer after its transaction committed."""
    if not is_published(settings):
        return None
    started = time.perf_counter()
    target = Path(settings.reporting_copy_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    with get_engine(settings.warehouse_url).connect() as conn:
        columns = reporting_columns(conn)
        conn.exec_driver_sql(f"ATTACH '{staging}' AS published")
        try:
            conn.exec_driver_sql("CREATE SCHEMA published.reporting")
            for view in columns:
                copy = f"CREATE TABLE published.reporting.{view} AS SELECT * FROM reporting.{view}"
                conn.exec_driver_sql(copy)
            for statement in _comments(columns):
                conn.exec_driver_sql(statement)
            conn.commit()
        except Exception:
            conn.rollback()
            staging.unlink(missing_ok=True)
            raise
        finally:
            conn.exec_driver_sql("DETACH published")
    os.replace(staging, target)  # atomic: a reader sees the old copy or the new one, never a part
    seconds = time.perf_counter() - started
    log.info("Published the reporting layer (%d views) to %s in %.2f s", len(columns), target, seconds)
    return seconds


def _comments(columns: dict[str, list[str]]) -> list[str]:
    """The views' descriptions on the published tables (what a BI tool shows beside each column)."""
    statements = []
    for view, doc in reporting_docs().items():
        if view not in columns:
            continue
        statements.append(f"COMMENT ON TABLE published.reporting.{view} IS {_literal(doc['description'])}")
        for column, description in doc["columns"].items():
            if column in columns[view]:
                statements.append(
                    f'COMMENT ON COLUMN published.reporting.{view}."{column}" IS {_literal(description)}'
                )
    return statements


def readable_reporting(settings: Settings) -> sa.Engine:
    """The engine readers of the reporting layer use, if what they read exists; a UsageError
    saying what to run otherwise (nothing is created by a read)."""
    from diaspora.errors import UsageError
    from diaspora.warehouse.schema import readable_warehouse

    if not is_published(settings):
        return readable_warehouse(settings.warehouse_url)
    if not Path(settings.reporting_copy_path).exists():
        if not Path(sa.make_url(settings.warehouse_url).database).exists():
            readable_warehouse(settings.warehouse_url)  # raises: no warehouse at all, and what to run
        raise UsageError(
            f"no published reporting layer at {settings.reporting_copy_path}: run `diaspora migrate` "
            "(it publishes one; every load publishes it again)"
        )
    return get_engine(reading_url(settings))
