"""Engines and schema migrations for the warehouse."""

from __future__ import annotations

import atexit
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from diaspora.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
# NNNN_name.sql runs on every engine; NNNN_name.duckdb.sql or NNNN_name.postgresql.sql on one only.
_ENGINES: list[sa.Engine] = []
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+(?:\.(duckdb|postgresql))?\.sql$")


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


def split_statements(sql_text: str) -> list[str]:
    """Statements of a SQL file: comments dropped, split at ';' ending a line (no ';' in strings)."""
    code = "\n".join(re.sub(r"--.*$", "", line) for line in sql_text.splitlines())
    return [chunk.strip() for chunk in re.split(r";\s*$", code, flags=re.MULTILINE) if chunk.strip()]


def migrations_for(engine_dialect: str) -> list[tuple[str, Path]]:
    """(version, file) of every migration that applies to ``engine_dialect``, in order."""
    found = []
    for path in sorted((SQL_DIR / "migrations").glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNNN_lower_snake[.duckdb|.postgresql].sql")
        if match.group(2) in (None, engine_dialect):
            found.append((match.group(1), path))
    return found


def pending_migrations(engine: sa.Engine) -> list[str]:
    """Migrations of this code that the warehouse has not applied (all of them on an empty one)."""
    with engine.connect() as conn:
        try:
            done = {row[0] for row in conn.exec_driver_sql("SELECT version FROM etl.schema_migration")}
        except sa.exc.DBAPIError:  # no etl.schema_migration: never migrated
            return [path.name for _, path in migrations_for(dialect(conn))]
        return [path.name for version, path in migrations_for(dialect(conn)) if version not in done]


def migrate(engine: sa.Engine) -> list[str]:
    """Create or upgrade the schema idempotently; return the migrations applied now.

    Migrations in ``sql/migrations`` run once each, in order, recorded in
    ``etl.schema_migration``; the views in ``sql/views`` are recreated every time. All of it
    is one transaction, serialised on PostgreSQL by an advisory lock, so DAGs that start
    together do not race.
    """
    applied_now = []
    with engine.begin() as conn:
        if dialect(conn) == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('diaspora.migrate'))")
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS etl")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS etl.schema_migration ("
            " version VARCHAR(4) PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMP WITH TIME ZONE NOT NULL)"
        )
        done = {row[0] for row in conn.exec_driver_sql("SELECT version FROM etl.schema_migration")}
        for version, path in migrations_for(dialect(conn)):
            if version in done:
                continue
            for statement in split_statements(path.read_text()):
                conn.exec_driver_sql(statement)
            conn.execute(
                sa.text("INSERT INTO etl.schema_migration (version, name, applied_at) VALUES (:v, :n, :t)"),
                {"v": version, "n": path.name, "t": datetime.now(UTC)},
            )
            applied_now.append(path.name)
        for path in sorted((SQL_DIR / "views").glob("*.sql")):
            for statement in split_statements(path.read_text()):
                conn.exec_driver_sql(statement)
        from diaspora.warehouse.catalog import apply_comments

        apply_comments(conn)
    return applied_now
