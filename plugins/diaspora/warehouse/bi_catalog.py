"""What a BI tool is given of the warehouse: the reporting layer's documentation and its read-only role.

Named bi_catalog, not view_docs, because it also grants the BI role that reads those views.

Descriptions live in ``sql/reporting_docs.yml`` only; from there they become database comments
(``COMMENT ON``, PostgreSQL and DuckDB) and ``docs/data_dictionary.md``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlalchemy as sa
import yaml

from diaspora.settings import SQL_DIR, Settings
from diaspora.warehouse.engine import dialect

DOCS_FILE = SQL_DIR / "reporting_docs.yml"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@lru_cache(maxsize=1)
def reporting_docs() -> dict[str, dict]:
    return yaml.safe_load(DOCS_FILE.read_text())["views"]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements() -> list[str]:
    statements = []
    for view, doc in reporting_docs().items():
        statements.append(f"COMMENT ON VIEW reporting.{view} IS {_literal(doc['description'])}")
        for column, description in doc["columns"].items():
            statements.append(f'COMMENT ON COLUMN reporting.{view}."{column}" IS {_literal(description)}')
    return statements


def apply_comments(conn: sa.Connection) -> int:
    statements = comment_statements()
    for statement in statements:
        conn.exec_driver_sql(statement.replace("%", "%%") if dialect(conn) == "postgresql" else statement)
    return len(statements)


def reporting_columns(conn: sa.Connection) -> dict[str, list[str]]:
    """Columns of every view in ``reporting``, in order (information_schema: works on both engines)."""
    rows = conn.execute(
        sa.text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'reporting' ORDER BY table_name, ordinal_position"
        )
    )
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def undocumented(conn: sa.Connection) -> list[str]:
    """'view' or 'view.column' for everything in ``reporting`` without a description."""
    docs = reporting_docs()
    missing = []
    for view, columns in reporting_columns(conn).items():
        if view not in docs:
            missing.append(view)
            continue
        missing += [f"{view}.{c}" for c in columns if not docs[view]["columns"].get(c)]
    return missing


def data_dictionary() -> str:
    """Markdown data dictionary of the reporting views."""
    lines = [
        "# Data dictionary: the `reporting` schema",
        "",
        "Generated from `sql/reporting_docs.yml` by `diaspora docs`; do not edit by hand.",
        "The same descriptions are stored in the database as comments (`COMMENT ON`).",
        "",
    ]
    for view, doc in reporting_docs().items():
        lines += [f"## reporting.{view}", "", doc["description"], "", "| column | description |", "|---|---|"]
        lines += [f"| `{column}` | {text} |" for column, text in doc["columns"].items()]
        lines.append("")
    return "\n".join(lines)


def grant_bi_role(conn: sa.Connection, settings: Settings, owner: str | None = None) -> None:
    """PostgreSQL: a login role that may read ``reporting`` and nothing else, within bounds: no
    temporary tables (PUBLIC's TEMP on the database is revoked), no EXECUTE on the warehouse's
    functions through PUBLIC, a statement timeout and a connection limit. ``owner`` (the
    pipeline's role) keeps TEMP: pinned factsheets use temporary tables."""
    role, password = settings.bi_role, settings.bi_password or ""
    for name in (role, owner):
        if name is not None and not _IDENTIFIER.match(name):
            raise ValueError(f"role name {name!r} must be a lower-case SQL identifier")
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    verb = "ALTER" if exists else "CREATE"
    quoted_password = _literal(password).replace("%", "%%")
    conn.exec_driver_sql(
        f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        f"CONNECTION LIMIT {int(settings.bi_connection_limit)} PASSWORD {quoted_password}"
    )
    conn.exec_driver_sql(f"ALTER ROLE {role} SET statement_timeout = '{int(settings.bi_statement_timeout)}s'")
    conn.exec_driver_sql(f"ALTER ROLE {role} SET idle_in_transaction_session_timeout = '300s'")
    database = conn.exec_driver_sql("SELECT current_database()").scalar()
    conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
    conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{database}" FROM {role}')
    conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    if owner:
        conn.exec_driver_sql(f'GRANT TEMPORARY ON DATABASE "{database}" TO {owner}')
    for schema in ("staging", "dw", "etl", "mart", "reporting", "public"):
        if schema != "reporting":
            conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
        conn.exec_driver_sql(f"REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} FROM PUBLIC")
    for grantor in {owner, conn.exec_driver_sql("SELECT current_user").scalar()} - {None}:
        conn.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {grantor} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"
        )
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA reporting TO {role}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {role}")
