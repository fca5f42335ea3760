"""Bulk loading into ``dw``, one transaction per release, every write counted back.

Facts are replaced release by release (:func:`replace_release_rows`): the release's rows are
deleted and the parsed frame is bulk-inserted — DuckDB scans the DataFrame, PostgreSQL receives
binary ``COPY``; neither inserts row by row. Dimensions are upserted through a staging table
(:func:`merge`). After each write the rows that landed are counted in the database and compared
with the rows prepared: a difference raises :class:`~diaspora.errors.LoadCountMismatch`, and the
caller's transaction rolls the whole release back. What a load did is recorded by
:mod:`diaspora.warehouse.audit`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from diaspora.errors import LoadCountMismatch
from diaspora.warehouse.engine import dialect

COPY_CHUNK_ROWS = 100_000

# Keys of the tables that loads write. Dimensions enforce theirs (merge upserts on it). Fact
# tables do not (an enforced key made a bulk load 7 times slower on DuckDB, 10 times on
# PostgreSQL: bench/load_paths.py): each source's suite refuses a release whose keys repeat (a
# critical expectation), and a load replaces the release's rows as a whole, so keys stay unique.
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
    "dw.fact_published_remittance": ("receiving_code", "sending_code", "year", "release_id"),
}


@dataclass(frozen=True)
class TableCount:
    """Rows prepared for one table and rows counted back in it after the write."""

    table: str
    prepared: int
    landed: int

    def as_dict(self) -> dict[str, int]:
        return {"prepared": self.prepared, "landed": self.landed}


def _quote_columns(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.partition(".")
    return schema, name


def column_types(conn: sa.Connection, table: str) -> dict[str, str]:
    """Column → SQL type of ``table``, in order, from information_schema (SQLAlchemy reflection
    fails on DuckDB). PostgreSQL gives its internal names (int4, float8, …): binary COPY needs them
    and DDL accepts them."""
    schema, name = _split(table)
    type_column = "udt_name" if dialect(conn) == "postgresql" else "data_type"
    rows = conn.execute(
        sa.text(
            f"SELECT column_name, {type_column} FROM information_schema.columns"
            " WHERE table_schema = :schema AND table_name = :name ORDER BY ordinal_position"
        ),
        {"schema": schema, "name": name},
    ).all()
    if not rows:
        raise LookupError(f"table {table} does not exist: run `diaspora db upgrade`")
    return {column: sql_type for column, sql_type in rows}


def create_table_like(conn: sa.Connection, name: str, like: str, columns: Iterable[str]) -> str:
    """Create table ``name`` with ``columns`` typed as in ``like``; return ``name``.

    Explicit column DDL, never ``CREATE TABLE … AS SELECT``: DuckDB 2.0.0 silently copies no rows
    out of a CTAS table filled with 122,880 rows or more inside a transaction.
    """
    types = column_types(conn, like)
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise ValueError(f"{like} has no column(s) {unknown}")
    definition = ", ".join(f'"{c}" {types[c]}' for c in columns)
    conn.exec_driver_sql(f"CREATE TABLE {name} ({definition})")
    return name


def _python_values(column: pd.Series) -> list:
    """A column as Python objects with None for missing values (NaN would load as NaN, not NULL)."""
    missing = column.isna()
    values = column.astype(object)
    return values.where(~missing, None).tolist() if missing.any() else values.tolist()


def _python_rows(frame: pd.DataFrame) -> Iterator[tuple]:
    """Rows as tuples of Python objects, built chunk by chunk so that a few million rows never
    exist as Python objects all at once."""
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        chunk = frame.iloc[start : start + COPY_CHUNK_ROWS]
        yield from zip(*(_python_values(chunk[c]) for c in chunk.columns), strict=True)


def bulk_insert(conn: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` with the engine's bulk path; return len(frame).

    Callers that need to know what landed count it in the table (see :func:`verify_count`).
    """
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
        return len(frame)
    types = column_types(conn, table)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({_quote_columns(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[c] for c in columns])
        for row in _python_rows(frame):
            copy.write_row(row)
    return len(frame)


def verify_count(table: str, prepared: int, landed: int, scope: str) -> TableCount:
    """Raise :class:`LoadCountMismatch` unless every prepared row landed."""
    if prepared != landed:
        raise LoadCountMismatch(table, prepared, landed, scope)
    return TableCount(table, prepared, landed)


def replace_release_rows(conn: sa.Connection, table: str, frame: pd.DataFrame, release_id: int) -> TableCount:
    """Make ``frame`` (whose ``release_id`` column is ``release_id``) the rows of that release in
    fact ``table``; count back what landed.

    A release is a vintage: its rows are replaced as a whole, so re-loading a release gives the
    same rows. On PostgreSQL concurrent loads of one release queue on an advisory lock.
    """
    if "release_id" not in frame or not frame["release_id"].eq(release_id).all():
        raise ValueError(f"rows for {table} must all carry release_id {release_id}")
    if dialect(conn) == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:t), :r)"), {"t": table, "r": release_id})
    conn.execute(sa.text(f"DELETE FROM {table} WHERE release_id = :r"), {"r": release_id})
    bulk_insert(conn, table, frame)
    landed = conn.execute(
        sa.text(f"SELECT count(*) FROM {table} WHERE release_id = :r"), {"r": release_id}
    ).scalar_one()
    return verify_count(table, len(frame), int(landed), f"release {release_id}")


def merge(conn: sa.Connection, table: str, frame: pd.DataFrame) -> TableCount:
    """Upsert ``frame`` into ``table`` through a transient staging table; count back what landed.

    Only the columns present in ``frame`` are written, so a source that owns some columns of a
    shared dimension never blanks the columns another source owns. Landed rows are the target's
    rows whose key is in the frame.
    """
    if frame.empty:
        return TableCount(table, 0, 0)
    key = TABLE_KEYS[table]
    columns = list(frame.columns)
    missing_key = [k for k in key if k not in columns]
    if missing_key:
        raise ValueError(f"rows for {table} lack key column(s) {missing_key}")
    staging = create_table_like(
        conn, f"staging.{_split(table)[1]}__{uuid.uuid4().hex[:12]}", like=table, columns=columns
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
    joined = " AND ".join(f't."{k}" = s."{k}"' for k in key)
    landed = conn.exec_driver_sql(
        f"SELECT count(*) FROM {table} AS t JOIN {staging} AS s ON {joined}"
    ).scalar_one()
    conn.exec_driver_sql(f"DROP TABLE {staging}")
    return verify_count(table, len(frame), int(landed), "merge")
