"""Benchmark: ways to bulk-load one release of fact rows, side by side, every count read back.

The rows are the REAL UNHCR population table (1951–2025, every country pair) in the shape of
``dw.fact_refugee_population``: 138,893 items × 9 population types = 1,250,037 rows. Each path
loads them in one transaction into a fresh table, then the rows are counted in the database; a
path that lands fewer rows than it was given is reported as LOST, whatever it claims.

DuckDB paths: CREATE TABLE AS staging (the DuckDB 2.0.0 row-loss bug), staging with explicit
column DDL then INSERT … ON CONFLICT into a keyed table (the loader before this benchmark),
INSERT … SELECT from the DataFrame into a keyed and into an unkeyed table, the same from an Arrow
table, and the Appender. PostgreSQL paths: COPY (text, psycopg's row writer) and binary COPY,
into a keyed and an unkeyed table, and COPY into staging + INSERT … ON CONFLICT.

    .venv/bin/python bench/load_paths.py                  # both engines, 3 runs each (median)
    .venv/bin/python bench/load_paths.py --engines duckdb --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import harness  # noqa: E402 - bench/ is the script's folder

sys.path.insert(0, str(harness.ROOT))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from diaspora.sources.unhcr_refugees.extract import POPULATION_TYPES  # noqa: E402
from tests.support.real_sources import REAL_DATA_DIR, load_real, real_data_available  # noqa: E402

RESULTS = harness.ROOT / "bench" / "results" / "load_paths.json"
COLUMNS = (
    "origin_code TEXT NOT NULL, asylum_code TEXT NOT NULL, year INTEGER NOT NULL,"
    " population_type TEXT NOT NULL, release_id BIGINT NOT NULL, persons DOUBLE PRECISION"
)
KEY = "origin_code, asylum_code, year, population_type, release_id"
NAMES = ["origin_code", "asylum_code", "year", "population_type", "release_id", "persons"]


def fact_rows() -> pd.DataFrame:
    """REAL UNHCR counts, one row per item × population type (oip mostly NULL)."""
    table = load_real().unhcr
    long = table.melt(
        id_vars=["coo_iso", "coa_iso", "year"],
        value_vars=list(POPULATION_TYPES),
        var_name="population_type",
        value_name="persons",
    )
    return pd.DataFrame(
        {
            "origin_code": long["coo_iso"].astype(object),
            "asylum_code": long["coa_iso"].astype(object),
            "year": long["year"].astype("int64"),
            "population_type": long["population_type"].astype(object),
            "release_id": 1,
            "persons": pd.to_numeric(long["persons"].replace("", None), errors="coerce").astype("float64"),
        }
    )


# --- DuckDB -----------------------------------------------------------------------------------


def duckdb_paths(frame: pd.DataFrame) -> dict[str, Callable]:
    def keyed(con) -> None:
        con.execute(f"CREATE TABLE t ({COLUMNS}, PRIMARY KEY ({KEY}))")

    def plain(con) -> None:
        con.execute(f"CREATE TABLE t ({COLUMNS})")

    def ctas_staging(con) -> None:
        con.execute("CREATE TABLE s AS SELECT * FROM t WHERE 1 = 0")
        con.execute("INSERT INTO s SELECT * FROM frame")
        con.execute("INSERT INTO t SELECT * FROM s")

    def ddl_staging_on_conflict(con) -> None:
        con.execute(f"CREATE TABLE s ({COLUMNS})")
        con.execute("INSERT INTO s SELECT * FROM frame")
        con.execute(
            f"INSERT INTO t SELECT * FROM s ON CONFLICT ({KEY}) DO UPDATE SET persons = EXCLUDED.persons"
        )

    def dataframe_scan(con) -> None:
        con.execute("INSERT INTO t SELECT * FROM frame")

    def arrow_scan(con) -> None:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)  # the conversion is part of the path
        con.register("arrow", arrow)
        con.execute("INSERT INTO t SELECT * FROM arrow")

    def appender(con) -> None:
        con.append("t", frame)

    return {
        "CTAS staging → keyed table (the loader before: DuckDB 2.0.0 loses the rows)": (keyed, ctas_staging),
        "explicit-DDL staging → INSERT … ON CONFLICT, keyed table (the same, bug avoided)": (
            keyed,
            ddl_staging_on_conflict,
        ),
        "DataFrame scan → keyed table": (keyed, dataframe_scan),
        "DataFrame scan → unkeyed table (loader now; = raw DataFrame append)": (plain, dataframe_scan),
        "DataFrame → Arrow, Arrow scan → unkeyed table": (plain, arrow_scan),
        "Appender → unkeyed table": (plain, appender),
    }


def run_duckdb(frame: pd.DataFrame, runs: int, workdir: Path) -> list[dict]:
    paths = duckdb_paths(frame)
    results = []
    for name, (create, load) in paths.items():
        seconds, landed = [], None
        for _ in range(runs):
            con = duckdb.connect(str(workdir / f"paths-{uuid.uuid4().hex}.duckdb"))
            con.register("frame", frame)
            create(con)
            started = time.perf_counter()
            con.execute("BEGIN")
            load(con)
            con.execute("COMMIT")
            seconds.append(time.perf_counter() - started)
            landed = con.execute("SELECT count(*) FROM t").fetchone()[0]
            con.close()
        results.append(_result("duckdb", name, len(frame), landed, seconds))
    return results


# --- PostgreSQL -------------------------------------------------------------------------------


def _python_rows(frame: pd.DataFrame):
    for start in range(0, len(frame), 100_000):
        chunk = frame.iloc[start : start + 100_000]
        columns = [chunk[c].astype(object).where(chunk[c].notna(), None).tolist() for c in chunk.columns]
        yield from zip(*columns, strict=True)


def _copy(conn, table: str, frame: pd.DataFrame, binary: bool) -> None:
    options = " (FORMAT BINARY)" if binary else ""
    with conn.cursor().copy(f"COPY {table} ({', '.join(NAMES)}) FROM STDIN{options}") as copy:
        if binary:
            copy.set_types(["text", "text", "int4", "text", "int8", "float8"])
        for row in _python_rows(frame):
            copy.write_row(row)


def postgres_paths(frame: pd.DataFrame) -> dict[str, tuple]:
    def keyed(conn) -> None:
        conn.execute(f"CREATE TABLE t ({COLUMNS}, PRIMARY KEY ({KEY}))")

    def plain(conn) -> None:
        conn.execute(f"CREATE TABLE t ({COLUMNS})")

    def indexed(conn) -> None:
        conn.execute(f"CREATE TABLE t ({COLUMNS})")
        conn.execute("CREATE INDEX t_release ON t (release_id)")

    def brin(conn) -> None:
        conn.execute(f"CREATE TABLE t ({COLUMNS})")
        conn.execute("CREATE INDEX t_release ON t USING brin (release_id)")

    def staging_on_conflict(conn) -> None:
        conn.execute(f"CREATE TABLE s ({COLUMNS})")
        _copy(conn, "s", frame, binary=False)
        conn.execute(
            f"INSERT INTO t SELECT * FROM s ON CONFLICT ({KEY}) DO UPDATE SET persons = EXCLUDED.persons"
        )

    return {
        "text COPY → staging → INSERT … ON CONFLICT, keyed table (loader before)": (
            keyed,
            staging_on_conflict,
        ),
        "text COPY → unkeyed table (raw COPY, the PITFALLS figure)": (
            plain,
            lambda c: _copy(c, "t", frame, False),
        ),
        "binary COPY → keyed table": (keyed, lambda c: _copy(c, "t", frame, True)),
        "binary COPY → table with a B-tree index on release": (indexed, lambda c: _copy(c, "t", frame, True)),
        "binary COPY → table with a BRIN index on release (loader now)": (
            brin,
            lambda c: _copy(c, "t", frame, True),
        ),
        "binary COPY → unkeyed table (= raw binary COPY)": (plain, lambda c: _copy(c, "t", frame, True)),
    }


def run_postgres(frame: pd.DataFrame, runs: int) -> list[dict]:
    url, drop = harness.postgres_database()
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    results = []
    try:
        for name, (create, load) in postgres_paths(frame).items():
            seconds, landed = [], None
            for _ in range(runs):
                with psycopg.connect(dsn) as conn:
                    conn.execute("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS s")
                    create(conn)
                    conn.commit()
                    started = time.perf_counter()
                    load(conn)
                    conn.commit()
                    seconds.append(time.perf_counter() - started)
                    landed = conn.execute("SELECT count(*) FROM t").fetchone()[0]
            results.append(_result("postgresql", name, len(frame), landed, seconds))
    finally:
        drop()
    return results


def _result(engine: str, path: str, rows: int, landed: int, seconds: list[float]) -> dict:
    median = statistics.median(seconds)
    return {
        "engine": engine,
        "path": path,
        "rows": rows,
        "rows_landed": landed,
        "seconds": seconds,
        "median_seconds": median,
        "rows_per_s": landed / median,
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| engine | path | rows given | rows counted back | s (median) | rows/s landed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        landed = f"{r['rows_landed']:,}" + (" **LOST**" if r["rows_landed"] != r["rows"] else "")
        lines.append(
            f"| {r['engine']} | {r['path']} | {r['rows']:,} | {landed} |"
            f" {r['median_seconds']:.2f} | {r['rows_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not real_data_available():
        print(f"The real data is not in {REAL_DATA_DIR}: set DIASPORA_REAL_DATA_DIR.", file=sys.stderr)
        return 2
    frame = fact_rows()
    results = []
    with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as workdir:
        if "duckdb" in args.engines:
            results += run_duckdb(frame, args.runs, Path(workdir))
        if "postgresql" in args.engines:
            results += run_postgres(frame, args.runs)
    RESULTS.write_text(
        json.dumps({"machine": harness.machine(), "runs": args.runs, "results": results}, indent=2) + "\n"
    )
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
