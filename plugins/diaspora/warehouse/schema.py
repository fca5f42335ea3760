"""The warehouse schema: ``sql/migrations`` applied once each, ``sql/views`` and their comments every time.

Kept apart from :mod:`diaspora.warehouse.engine` so that engines are made without the SQL files,
and the view comments can be applied here without an import cycle.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from diaspora.errors import UsageError
from diaspora.settings import SQL_DIR
from diaspora.warehouse import bi_catalog
from diaspora.warehouse.engine import dialect, get_engine, safe_url

# NNNN_name.sql runs on every engine; NNNN_name.duckdb.sql or NNNN_name.postgresql.sql on one only.
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+(?:\.(duckdb|postgresql))?\.sql$")


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
    with engine.begin() as conn:
        if dialect(conn) == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('diaspora.migrate'))")
        applied_now = _apply_migrations(conn)
        _apply_views(conn)
        bi_catalog.apply_comments(conn)
    return applied_now


def _apply_migrations(conn: sa.Connection) -> list[str]:
    """Run the migrations not yet recorded in ``etl.schema_migration``, recording each."""
    conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS etl")
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS etl.schema_migration ("
        " version VARCHAR(4) PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMP WITH TIME ZONE NOT NULL)"
    )
    done = {row[0] for row in conn.exec_driver_sql("SELECT version FROM etl.schema_migration")}
    applied_now = []
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
    return applied_now


def _apply_views(conn: sa.Connection) -> None:
    """Recreate every view of ``sql/views``: views hold no data, so they follow the code (and the
    deploy's settings a view bakes in: ``{survey_min_cell}``)."""
    from diaspora.settings import get_settings

    baked = {"{survey_min_cell}": str(int(get_settings().survey_min_cell))}
    for path in sorted((SQL_DIR / "views").glob("*.sql")):
        text = path.read_text()
        for placeholder, value in baked.items():
            text = text.replace(placeholder, value)
        for statement in split_statements(text):
            conn.exec_driver_sql(statement)


def readable_warehouse(url: str) -> sa.Engine:
    """The engine of a warehouse that exists and is migrated, for commands that only read it; a
    :class:`UsageError` saying what to run otherwise. A read never creates a DuckDB file."""
    parsed = sa.make_url(url)
    where = safe_url(url)
    if parsed.get_backend_name() == "duckdb" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise UsageError(
                f"no warehouse at {parsed.database}: run `make demo` (the bundled samples) or `diaspora "
                "migrate` and the DAGs (`make run`), or point DIASPORA_WAREHOUSE_URL at a built warehouse"
            )
    engine = get_engine(url)
    try:
        pending = pending_migrations(engine)
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        message = f"cannot open the warehouse {where}: {reason}; check DIASPORA_WAREHOUSE_URL"
        raise UsageError(message) from exc
    if pending:
        named = ", ".join(pending[:3]) + (f" and {len(pending) - 3} more" if len(pending) > 3 else "")
        raise UsageError(f"the warehouse {where} is not migrated (pending: {named}): run `diaspora migrate`")
    return engine
