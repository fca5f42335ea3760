"""The reporting layer computed at load: what the ``reporting`` views read, in schema ``mart``.

A source's load calls :func:`refresh_after_load` inside its own transaction, after the fact rows
are in: it works out which releases of the fact table are current (``mart.current_release``) and
rebuilds the aggregated tables that read that fact table (``sql/mart/*.sql``, one ``SELECT`` each),
so a BI user sees either the old layer or the new one, never a half-refreshed one. ``diaspora
migrate`` calls :func:`refresh_all` (reference data, such as group memberships, feed it too).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from diaspora.errors import LoadCountMismatch, ReportingCheckFailed
from diaspora.settings import SQL_DIR
from diaspora.warehouse.engine import dialect
from diaspora.warehouse.facts import FACT_GRAINS
from diaspora.warehouse.load import column_types

MART_SQL_DIR = SQL_DIR / "mart"
# sql/mart/checks/NN_<name>.sql: a query returning the rows of mart.<name> that break an invariant.
MART_CHECKS_DIR = MART_SQL_DIR / "checks"

# The value's key in each fact table (without release_id): a value is current in the newest
# release that carries its key.
FACT_KEYS: dict[str, tuple[str, ...]] = {table: grain.keys for table, grain in FACT_GRAINS.items()}

# The mart tables each fact table feeds, in refresh order (a later one reads an earlier one).
# The corridor estimates read both World Bank and UN DESA facts: a new release of either recomputes
# them, and their comparison with the published matrices, which a new matrix recomputes too.
PUBLISHED_COMPARISON = ("mart.published_remittance_comparison", "mart.published_remittance_accuracy")
CORRIDORS = ("mart.remittance_corridors", "mart.remittance_corridor_gaps", *PUBLISHED_COMPARISON)
REFRESHED_BY: dict[str, tuple[str, ...]] = {
    "dw.fact_indicator_value": ("mart.remittances", "mart.diaspora_profile", *CORRIDORS),
    "dw.fact_migrant_stock": (
        "mart.emigrants_by_destination",
        "mart.emigrants_in_group",
        "mart.diaspora_profile",
        *CORRIDORS,
    ),
    "dw.fact_refugee_population": ("mart.refugees",),
    "dw.fact_published_remittance": PUBLISHED_COMPARISON,
}

# Release order: the newest release is the one published last (then fetched last).
_RELEASE_ORDER = "release_date DESC NULLS LAST, fetched_at DESC, release_id DESC"


@dataclass(frozen=True)
class Refreshed:
    """One table of the reporting layer after its refresh: rows counted back, seconds taken."""

    table: str
    rows: int
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {"rows": self.rows, "seconds": round(self.seconds, 4)}


def in_country_order(fact_table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The fact rows sorted by their country (of origin), as a release is written: DuckDB then
    skips row groups by their min/max and PostgreSQL's BRIN index on it stays narrow."""
    keys = FACT_KEYS.get(fact_table)
    if not keys or frame.empty:
        return frame
    return frame.sort_values(keys[0], kind="stable", ignore_index=True)


def definition(table: str) -> str:
    """The ``SELECT`` that computes mart ``table`` (``sql/mart/NN_<name>.sql``)."""
    name = table.removeprefix("mart.")
    paths = [p for p in sorted(MART_SQL_DIR.glob("*.sql")) if p.stem.split("_", 1)[1] == name]
    if len(paths) != 1:
        raise LookupError(f"no single sql/mart/NN_{name}.sql defines {table}")
    return _without_comment_lines(paths[0])


def _without_comment_lines(path: Path) -> str:
    """The query in ``path`` without its ``--`` comment lines (the file is one statement)."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))


def mart_tables() -> list[str]:
    """Every mart table with a definition, in refresh order (the files' numbering)."""
    return [f"mart.{p.stem.split('_', 1)[1]}" for p in sorted(MART_SQL_DIR.glob("*.sql"))]


def _current_view(fact_table: str) -> str:
    return "mart.current_" + fact_table.removeprefix("dw.fact_")


def replace_relation(sql: str, name: str, subquery: str) -> str:
    """``name`` (with or without an alias) replaced by ``(subquery)``, aliased as before or by its
    own short name (PostgreSQL before 16 wants every subquery in FROM aliased)."""
    pattern = re.compile(rf"\b{re.escape(name)}\b(\s+AS\s+\w+)?", re.IGNORECASE)
    short = name.split(".", 1)[1]
    return pattern.sub(lambda m: f"({subquery}){m.group(1) or ' AS ' + short}", sql)


def as_of_definition(table: str, pinned: dict[str, int]) -> str:
    """The ``SELECT`` of mart ``table`` computed from pinned releases: for each fact table in
    ``pinned`` (fact table → release_id), that release's rows instead of the current rows, and the
    mart tables it reads computed the same way. What a factsheet pinned to a release reads."""
    sql = definition(table)
    for fact_table, release_id in pinned.items():
        rows = f"SELECT * FROM {fact_table} WHERE release_id = {int(release_id)}"
        sql = replace_relation(sql, _current_view(fact_table), rows)
    for other in mart_tables():
        if other != table and _reads_pinned(other, pinned) and re.search(rf"\b{re.escape(other)}\b", sql):
            sql = replace_relation(sql, other, as_of_definition(other, pinned))
    return sql


def _reads_pinned(table: str, pinned: dict[str, int]) -> bool:
    return any(table in REFRESHED_BY.get(fact_table, ()) for fact_table in pinned)


def as_of_relations(pinned: dict[str, int]) -> dict[str, str]:
    """For each aggregated ``reporting`` view that pinned releases change, the relation to read
    instead: the view's own ``SELECT`` over its mart table computed from those releases (a view
    may reshape its table: remittance_corridors shows a row per method of a row per corridor);
    the other views stay as they are."""
    relations = {}
    for table in mart_tables():
        if _reads_pinned(table, pinned):
            view = f"reporting.{table.removeprefix('mart.')}"
            relations[view] = replace_relation(view_definition(view), table, as_of_definition(table, pinned))
    return relations


def pinned_relations(conn: sa.Connection, pinned: dict[str, int]) -> dict[str, str]:
    """:func:`as_of_relations` for the reads on ``conn`` that follow, in its transaction. On
    PostgreSQL each relation is computed once into a temporary table: inlined, every query that
    reads the corridor estimates recomputed them for every origin (a factsheet pinned to a UN DESA
    edition ran for over five minutes); DuckDB computes them inline in under a second."""
    relations = as_of_relations(pinned)
    if dialect(conn) != "postgresql":
        return relations
    _batch_settings(conn)
    computed = {}
    for view, select in relations.items():
        table = "pinned_" + view.removeprefix("reporting.")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {table} AS {select}")
        conn.exec_driver_sql(f"ANALYZE {table}")
        computed[view] = f"SELECT * FROM {table}"
    return computed


def view_definition(view: str) -> str:
    """The ``SELECT`` of ``reporting`` view ``view`` as ``sql/views`` creates it."""
    from diaspora.warehouse.schema import split_statements

    head = re.compile(rf"^CREATE OR REPLACE VIEW {re.escape(view)} AS\s+", re.IGNORECASE)
    for path in sorted((SQL_DIR / "views").glob("*.sql")):
        for statement in split_statements(path.read_text()):
            if head.match(statement):
                return head.sub("", statement)
    raise LookupError(f"no sql/views file creates {view}")


def refresh_after_load(conn: sa.Connection, fact_table: str, release_id: int) -> list[Refreshed]:
    """After ``release_id`` landed in ``fact_table``: its current releases, then its mart tables."""
    refreshed = []
    if dialect(conn) == "postgresql":
        _batch_settings(conn)
        # Loads of different sources run at once on PostgreSQL and share tables of the layer
        # (diaspora_profile): one refresh at a time, each reading what the other committed.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('diaspora.reporting_layer'))")
        refreshed.append(_analyze(conn, fact_table))  # plans of the refresh and of BI queries need them
    refreshed.append(update_current_releases(conn, fact_table, release_id))
    refreshed += [refresh_table(conn, table) for table in REFRESHED_BY.get(fact_table, ())]
    return refreshed


def refresh_all(conn: sa.Connection) -> list[Refreshed]:
    """The whole reporting layer from the facts (after migrations and reference data)."""
    if dialect(conn) == "postgresql":
        _batch_settings(conn)
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('diaspora.reporting_layer'))")
    refreshed = [update_current_releases(conn, fact_table) for fact_table in FACT_KEYS]
    return refreshed + [refresh_table(conn, table) for table in mart_tables()]


def _batch_settings(conn: sa.Connection) -> None:
    """For the rest of the transaction: no JIT (PostgreSQL compiled a 1.5 s aggregation of the
    UNHCR table for 9.8 s), room to sort and hash in memory rather than on disk, and whole-table
    plans: with the release's rows just rewritten in this transaction, the planner chose nested
    loops over an incremental sort that took 15 s for what hash joins do in 2."""
    conn.exec_driver_sql("SET LOCAL jit = off")
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    conn.exec_driver_sql("SET LOCAL enable_incremental_sort = off")


def _analyze(conn: sa.Connection, table: str) -> Refreshed:
    """Fresh statistics, and the table's BRIN indexes extended over the pages just written (until
    VACUUM summarises them, a BRIN index makes PostgreSQL read every new page)."""
    started = time.perf_counter()
    conn.exec_driver_sql(f"ANALYZE {table}")
    conn.execute(
        sa.text(
            "SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index AS i"
            " JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS a ON a.oid = c.relam"
            " WHERE i.indrelid = CAST(:t AS regclass) AND a.amname = 'brin'"
        ),
        {"t": table},
    ).all()
    return Refreshed(f"{table} (statistics)", 0, time.perf_counter() - started)


def update_current_releases(
    conn: sa.Connection, fact_table: str, new_release_id: int | None = None
) -> Refreshed:
    """Rank the releases of ``fact_table`` whose rows the reporting views show.

    Newest first; an older release is kept only while it holds a key that no kept newer release
    carries, unless the fact table's source publishes editions (each re-estimates the whole
    series): then the newest edition alone is current. With ``new_release_id``, only the current
    releases and the new one are ranked (a release left out once stays out: every key of it is in
    a newer release, or a newer edition replaced it); without, every release in the table.
    """
    started = time.perf_counter()
    if new_release_id is None:
        found = conn.exec_driver_sql(f"SELECT DISTINCT release_id FROM {fact_table}")
        candidates = [row[0] for row in found]
    else:
        found = conn.execute(
            sa.text("SELECT release_id FROM mart.current_release WHERE fact_table = :t"), {"t": fact_table}
        )
        candidates = [row[0] for row in found] + [new_release_id]
    kept: list[int] = []
    whole_editions = _releases_are_editions(fact_table)
    for release_id in _newest_first(conn, candidates):
        if not kept or (not whole_editions and _holds_a_key_not_in(conn, fact_table, release_id, kept)):
            kept.append(release_id)
    conn.execute(sa.text("DELETE FROM mart.current_release WHERE fact_table = :t"), {"t": fact_table})
    if kept:
        ranked = [{"t": fact_table, "r": release_id, "k": rank} for rank, release_id in enumerate(kept, 1)]
        conn.execute(
            sa.text(
                "INSERT INTO mart.current_release (fact_table, release_id, release_rank) VALUES (:t, :r, :k)"
            ),
            ranked,
        )
    if dialect(conn) == "postgresql":
        conn.exec_driver_sql("ANALYZE mart.current_release")  # a few rows: the planner should know
    return Refreshed("mart.current_release", len(kept), time.perf_counter() - started)


def _releases_are_editions(fact_table: str) -> bool:
    from diaspora.sources import registry

    return any(source.editions for source in registry().values() if source.fact_table == fact_table)


def _newest_first(conn: sa.Connection, release_ids: list[int]) -> list[int]:
    if not release_ids:
        return []
    statement = sa.text(
        f"SELECT release_id FROM dw.dim_source_release WHERE release_id IN :ids ORDER BY {_RELEASE_ORDER}"
    ).bindparams(sa.bindparam("ids", expanding=True))
    return [row[0] for row in conn.execute(statement, {"ids": sorted(set(release_ids))})]


def _holds_a_key_not_in(conn: sa.Connection, fact_table: str, release_id: int, newer: list[int]) -> bool:
    same_key = " AND ".join(f"n.{column} = o.{column}" for column in FACT_KEYS[fact_table])
    statement = sa.text(
        f"SELECT 1 FROM {fact_table} AS o WHERE o.release_id = :r AND NOT EXISTS ("
        f"SELECT 1 FROM {fact_table} AS n WHERE n.release_id IN :newer AND {same_key}) LIMIT 1"
    ).bindparams(sa.bindparam("newer", expanding=True))
    return conn.execute(statement, {"r": release_id, "newer": newer}).first() is not None


def check_table(conn: sa.Connection, table: str) -> None:
    """Run the invariant check of mart ``table``, if it has one; raise on any row that breaks it."""
    name = table.removeprefix("mart.")
    for path in sorted(MART_CHECKS_DIR.glob(f"*_{name}.sql")):
        broken = [dict(row._mapping) for row in conn.exec_driver_sql(_without_comment_lines(path))]
        if broken:
            raise ReportingCheckFailed(table, f"sql/mart/checks/{path.name}", broken)


def refresh_table(conn: sa.Connection, table: str) -> Refreshed:
    """Replace every row of mart ``table`` with what its definition computes now; count them back."""
    started = time.perf_counter()
    listed = ", ".join(column_types(conn, table))
    computed = f"SELECT {listed} FROM ({definition(table)}) AS computed"
    if dialect(conn) == "postgresql":
        # PostgreSQL runs INSERT … SELECT without parallel workers; CREATE TABLE … AS uses them
        # (emigrants_by_destination: 2.1 s against 6.2 s here). Never on DuckDB, whose CTAS
        # tables inside a transaction lose their rows (PITFALLS).
        staging = f"refresh_{table.replace('.', '_')}"
        conn.exec_driver_sql(f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS {computed}")
        prepared = conn.exec_driver_sql(f"SELECT count(*) FROM {staging}").scalar_one()
        conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging}")
        conn.exec_driver_sql(f"DROP TABLE {staging}")
    else:
        conn.exec_driver_sql(f"DELETE FROM {table}")
        prepared = conn.exec_driver_sql(f"INSERT INTO {table} ({listed}) {computed}").rowcount
    landed = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
    if prepared is not None and prepared >= 0 and prepared != landed:
        raise LoadCountMismatch(table, prepared, landed, "reporting layer refresh")
    check_table(conn, table)
    if dialect(conn) == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table}")  # fresh statistics for BI queries at once
    return Refreshed(table, int(landed), time.perf_counter() - started)
