"""Reading the warehouse in tests, on DuckDB and PostgreSQL alike.

``rows`` returns SQLAlchemy rows: named tuples that compare equal to plain tuples, so
``rows(url, sql) == [(1, "x")]`` holds and ``row.country_code`` works too. A tuple parameter
expands into an IN list: ``rows(url, "... WHERE country_code IN :codes", codes=("TJK", "KGZ"))``.
"""

from __future__ import annotations

import sqlalchemy as sa

from diaspora.warehouse.engine import get_engine


def _statement(sql: str, params: dict) -> sa.TextClause:
    expanding = [
        sa.bindparam(name, expanding=True) for name, value in params.items() if isinstance(value, tuple)
    ]
    return sa.text(sql).bindparams(*expanding)


def rows(url: str, sql: str, /, **params: object) -> list[sa.Row]:
    """Every row of a query, through the process's engine for ``url`` (the one the code under test
    uses: a DuckDB file takes one configuration per process)."""
    with get_engine(url).connect() as conn:
        return conn.execute(_statement(sql, params), params).all()


def dicts(url: str, sql: str, /, **params: object) -> list[dict]:
    """Every row of a query as a dict of column → value."""
    return [dict(row._mapping) for row in rows(url, sql, **params)]


def scalar(url: str, sql: str, /, **params: object) -> object:
    """The one value of a query that returns exactly one row."""
    with get_engine(url).connect() as conn:
        return conn.execute(_statement(sql, params), params).scalar_one()


def rows_then_close(url: str, sql: str, /, **params: object) -> list[sa.Row]:
    """:func:`rows` through an engine of its own, closed at once: for a test whose DuckDB file
    must be free for another process (a real scheduler's next task) as soon as it has read it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(_statement(sql, params), params).all()
    finally:
        engine.dispose()


def insert_release(conn: sa.Connection, release_id: int, source: str, label: str, publisher: str) -> None:
    """A release row for facts a test writes itself (``publisher`` says what they are)."""
    from datetime import UTC, datetime

    conn.execute(
        sa.text(
            "INSERT INTO dw.dim_source_release (release_id, source, publisher, dataset, release_label,"
            " url, content_sha256, fetched_at, licence, citation, raw_location) VALUES (:i, :s, :p,"
            " :p, :l, 'http://127.0.0.1/', :h, :t, 'none', 'none', 'none')"
        ),
        {
            "i": release_id,
            "s": source,
            "p": publisher,
            "l": label,
            "h": f"{release_id:064d}",
            "t": datetime.now(UTC),
        },
    )
