"""Warehouse engines: one per URL per process, and small helpers on their dialect and URL.

The schema (migrations, views) is :mod:`diaspora.warehouse.schema`'s.
"""

from __future__ import annotations

import atexit
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

_ENGINES: list[sa.Engine] = []


def get_engine(url: str) -> sa.Engine:
    """One engine per URL per process; DuckDB files get their parent folder created.

    A DuckDB URL gets ``memory_limit`` from ``DIASPORA_DUCKDB_MEMORY_LIMIT`` unless it names one:
    without it DuckDB keeps up to 80 % of RAM, so a large load would grow with its file instead
    of spilling to ``<database file>.tmp``. Every connection of a process to one DuckDB file must
    share one configuration, hence here, where every caller passes.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "duckdb" and "memory_limit" not in parsed.query:
        from diaspora.settings import get_settings

        parsed = parsed.update_query_dict({"memory_limit": get_settings().duckdb_memory_limit})
    return _engine(parsed.render_as_string(hide_password=False))


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "duckdb" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    # Close pooled connections before interpreter teardown (DuckDB complains otherwise).
    atexit.register(engine.dispose)
    _ENGINES.append(engine)
    return engine


def dispose_all() -> None:
    """Close every pooled warehouse connection of this process."""
    for engine in _ENGINES:
        engine.dispose()


def fetch_dicts(conn: sa.Connection, sql: str, **params: object) -> list[dict]:
    """Every row of a query as a dict of column → value."""
    return [dict(row._mapping) for row in conn.execute(sa.text(sql), params)]


def safe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def dialect(conn: sa.Connection | sa.Engine) -> str:
    """``duckdb`` or ``postgresql``."""
    return conn.dialect.name
