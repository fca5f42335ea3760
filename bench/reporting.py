"""Benchmark of the reporting layer at real size: the REAL public data of every country
(``../shared/data/real/``), served in each source's published format by a local HTTP server.

Per engine, on a fresh warehouse: each source extracted, parsed, validated and loaded (each step in
its own process), then loaded again ``--repeats`` times from the same landing (a re-load replaces
the release and refreshes the layer with every source present); the load's wall time and the
refresh's share of it are read from ``etl.load_run.reporting_refresh``. Then, for every reporting
view: a full scan delivered to the client (DuckDB: an Arrow table; PostgreSQL: ``COPY … TO
STDOUT``), a one-country filter and a typical BI aggregation, medians of ``--runs``; then
``diaspora factsheet --all`` (every country with data: pages, PDFs, index) in its own process.

    .venv/bin/python bench/reporting.py                  # both engines
    .venv/bin/python bench/reporting.py --engines duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness  # noqa: E402 - bench/ is the script's folder

sys.path.insert(0, str(harness.ROOT))
sys.path.insert(0, str(harness.ROOT / "plugins"))

from tests.support.real_sources import REAL_DATA_DIR, RealSourcesServer, real_data_available  # noqa: E402

RESULTS = harness.ROOT / "bench" / "results" / "reporting.json"
SOURCES = ("worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees")

# view → (one-country filter, a typical BI aggregation); None where the view has no country.
QUERIES: dict[str, tuple[str | None, str]] = {
    "indicator_values": (
        "country_code = 'TJK'",
        "SELECT indicator_code, count(*), avg(value) FROM reporting.indicator_values"
        " WHERE year = 2023 AND NOT is_aggregate GROUP BY indicator_code",
    ),
    "remittances": (
        "country_code = 'TJK'",
        "SELECT country_name, remittances_received_pct_gdp FROM reporting.remittances"
        " WHERE year = 2023 AND NOT is_aggregate AND remittances_received_pct_gdp IS NOT NULL"
        " ORDER BY remittances_received_pct_gdp DESC LIMIT 10",
    ),
    "migrant_stock": (
        "origin_code = 'TJK'",
        "SELECT destination_name, sum(migrants) FROM reporting.migrant_stock"
        " WHERE year = 2024 AND sex = 'both' AND origin_area_type = 'country'"
        " AND destination_area_type = 'country' GROUP BY destination_name ORDER BY 2 DESC LIMIT 10",
    ),
    "emigrants_by_destination": (
        "origin_code = 'TJK'",
        "SELECT destination_name, sum(migrants) FROM reporting.emigrants_by_destination"
        " WHERE year = 2024 AND sex = 'both' GROUP BY destination_name ORDER BY 2 DESC LIMIT 10",
    ),
    "emigrants_in_group": (
        "origin_code = 'TJK'",
        "SELECT origin_name, migrants FROM reporting.emigrants_in_group"  # the example
        " WHERE group_code = 'EU27_2020' AND year = 2024 AND sex = 'both' ORDER BY migrants DESC LIMIT 10",
    ),
    "diaspora_profile": (
        "country_code = 'TJK'",
        "SELECT country_name, emigrants_pct_of_population FROM reporting.diaspora_profile"
        " WHERE year = 2024 AND emigrants_pct_of_population IS NOT NULL"
        " ORDER BY emigrants_pct_of_population DESC LIMIT 10",
    ),
    "refugee_population": (
        "origin_code = 'TJK'",
        "SELECT year, sum(persons) FROM reporting.refugee_population"
        " WHERE population_type = 'refugees' GROUP BY year ORDER BY year",
    ),
    "refugees": (
        "country_code = 'TJK'",
        "SELECT country_name, refugees_hosted FROM reporting.refugees WHERE year = 2024"
        " AND refugees_hosted IS NOT NULL ORDER BY refugees_hosted DESC LIMIT 10",
    ),
    "remittance_corridors": (
        "origin_code = 'TJK'",
        "SELECT destination_name, sum(estimated_usd) FROM reporting.remittance_corridors"
        " WHERE year = 2023 AND method = 'stock_shares' GROUP BY destination_name ORDER BY 2 DESC LIMIT 10",
    ),
    "remittance_corridor_gaps": (
        "country_code = 'TJK'",
        "SELECT country_name, gap_pct FROM reporting.remittance_corridor_gaps WHERE year = 2022"
        " AND method = 'stock_shares' AND observed_outflow_usd > 1e9 ORDER BY abs(gap_pct) DESC LIMIT 10",
    ),
    "data_quality": (None, "SELECT source, is_stale FROM reporting.data_quality"),
    "diaspora_engagement": (
        "country_code = 'TJK'",
        "SELECT item_type, count(*) FROM reporting.diaspora_engagement GROUP BY item_type",
    ),
    "political_rights": (
        "country_code = 'TJK'",
        "SELECT dual_citizenship, count(*) FROM reporting.political_rights GROUP BY dual_citizenship",
    ),
    "survey_estimates": (
        None,
        "SELECT survey_id, count(*) FROM reporting.survey_estimates GROUP BY survey_id",
    ),
    "areas": ("country_code = 'TJK'", "SELECT area_type, count(*) FROM reporting.areas GROUP BY area_type"),
    "country_groups": (
        "country_code = 'TJK'",
        "SELECT group_code, count(*) FROM reporting.country_groups WHERE valid_to IS NULL"
        " GROUP BY group_code",
    ),
}


def env_for(server: RealSourcesServer, workdir: Path, url: str, engine: str) -> dict[str, str]:
    return {
        **os.environ,
        "DIASPORA_DATA_DIR": str(workdir / f"data-{engine}"),
        "DIASPORA_WAREHOUSE_URL": url,
        "DIASPORA_WORLDBANK_BASE_URL": server.worldbank_base_url,
        "DIASPORA_UNDESA_IMS_URL": server.undesa_ims_url,
        "DIASPORA_UNHCR_BASE_URL": server.unhcr_base_url,
        "DIASPORA_UNHCR_YEAR_FROM": "1951",
        "GX_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": str(harness.ROOT / "plugins"),
    }


def _diaspora(arguments: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(harness.ROOT / ".venv" / "bin" / "diaspora"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"diaspora {' '.join(arguments)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def _latest_refresh(url: str, source: str) -> dict:
    import sqlalchemy as sa

    from diaspora.warehouse.engine import get_engine

    engine = get_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT reporting_refresh, rows_loaded FROM etl.load_run"
                " WHERE source = :s AND status = 'success' ORDER BY load_id DESC LIMIT 1"
            ),
            {"s": source},
        ).one()
    engine.dispose()  # DuckDB: the next step's process opens the file
    return {"refresh": json.loads(row[0]), "rows_loaded": row[1]}


def bench_loads(env: dict[str, str], url: str, repeats: int) -> list[dict]:
    """Each source loaded once after its other steps (its first load: a new release; the sources
    in order, so the World Bank's comes before UN DESA's), then, with every source present,
    re-loaded ``repeats`` times from the same landing (the release replaced, the layer refreshed:
    a World Bank re-load then recomputes the corridor estimates too)."""
    landings, firsts = {}, {}
    for source in SOURCES:
        landings[source] = harness.child(source, "extract", env)["landing_dir"]
        for step in ("parse", "validate"):
            harness.child(source, step, env, landings[source])
        firsts[source] = _timed_load(env, url, source, landings[source])
        print(
            f"  {source}: first load {firsts[source]['load_s']:.2f} s,"
            f" refresh {firsts[source]['refresh_s']:.2f} s",
            flush=True,
        )
    loads = []
    for source in SOURCES:
        reloads = sorted(
            (_timed_load(env, url, source, landings[source]) for _ in range(repeats)),
            key=lambda r: r["load_s"],
        )
        median = reloads[len(reloads) // 2] if reloads else firsts[source]
        loads.append({"source": source, "first": firsts[source], "reload": median})
        print(
            f"  {source}: re-load {median['load_s']:.2f} s, refresh {median['refresh_s']:.2f} s", flush=True
        )
    return loads


def _timed_load(env: dict[str, str], url: str, source: str, landing_dir: str) -> dict:
    step = harness.child(source, "load", env, landing_dir)
    audit = _latest_refresh(url, source)
    return {
        "load_s": step["seconds"],
        "refresh_s": sum(part["seconds"] for part in audit["refresh"].values()),
        "parts": audit["refresh"],
        "rows_loaded": audit["rows_loaded"],
    }


class Client:
    """A BI-like client: rows fetched as a tool would, full scans as bulk transfers."""

    def __init__(self, engine: str, url: str) -> None:
        self.engine = engine
        if engine == "duckdb":
            import duckdb

            self.conn = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
        else:
            import psycopg
            import sqlalchemy as sa

            dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(dsn, autocommit=True)

    def rows(self, sql: str) -> int:
        if self.engine == "duckdb":
            return len(self.conn.execute(sql).fetchall())
        return len(self.conn.execute(sql).fetchall())

    def full_scan(self, view: str) -> int:
        if self.engine == "duckdb":
            return self.conn.sql(f"SELECT * FROM reporting.{view}").to_arrow_table().num_rows
        lines = 0
        with self.conn.cursor().copy(f"COPY (SELECT * FROM reporting.{view}) TO STDOUT") as copy:
            for block in copy:
                lines += bytes(block).count(b"\n")
        return lines

    def close(self) -> None:
        self.conn.close()


def timed(function, runs: int) -> tuple[float, int]:  # noqa: ANN001
    """Median seconds of ``runs`` calls, after one warm-up call; and the call's result."""
    result = function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench_queries(engine: str, url: str, runs: int) -> list[dict]:
    client = Client(engine, url)
    measured = []
    try:
        for view, (country_filter, aggregation) in QUERIES.items():
            full_s, full_rows = timed(lambda v=view: client.full_scan(v), runs)
            one_s = one_rows = None
            if country_filter:
                sql = f"SELECT * FROM reporting.{view} WHERE {country_filter}"
                one_s, one_rows = timed(lambda s=sql: client.rows(s), runs)
            aggregation_s, _ = timed(lambda s=aggregation: client.rows(s), runs)
            measured.append(
                {
                    "view": view,
                    "full_scan_s": full_s,
                    "rows": full_rows,
                    "one_country_s": one_s,
                    "one_country_rows": one_rows,
                    "aggregation_s": aggregation_s,
                }
            )
    finally:
        client.close()
    return measured


def bench_factsheets(env: dict[str, str]) -> dict:
    started = time.perf_counter()
    output = _diaspora(["factsheet", "--all"], env)
    seconds = time.perf_counter() - started
    pdfs = len(list(Path(env["DIASPORA_DATA_DIR"], "factsheets").glob("*/factsheet.pdf")))
    summary = output.strip().splitlines()[-1].split("; index:")[0]  # no machine path in the results
    return {"command_s": seconds, "summary": summary, "pdfs_on_disk": pdfs}


def markdown(results: dict) -> str:
    lines = [
        "| engine | source | rows loaded | first load (s) | its refresh (s) | refresh ÷ rest"
        " | re-load, median (s) | its refresh (s) | refresh ÷ rest |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["engines"]:
        for load in run["loads"]:
            cells = []
            for measured in (load["first"], load["reload"]):
                rest = measured["load_s"] - measured["refresh_s"]
                share = f"{100 * measured['refresh_s'] / rest:.0f} %"
                cells += [f"{measured['load_s']:.2f}", f"{measured['refresh_s']:.2f}", share]
            rows = f"{load['first']['rows_loaded']:,}"
            lines.append(f"| {run['engine']} | {load['source']} | {rows} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| engine | view | rows | full scan (s) | one country (ms) | BI aggregation (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run in results["engines"]:
        for q in run["queries"]:
            one = "—" if q["one_country_s"] is None else f"{1000 * q['one_country_s']:.1f}"
            lines.append(
                f"| {run['engine']} | {q['view']} | {q['rows']:,} | {q['full_scan_s']:.3f} | {one} | "
                f"{1000 * q['aggregation_s']:.1f} |"
            )
    lines += ["", "| engine | `diaspora factsheet --all` |", "|---|---|"]
    for run in results["engines"]:
        lines.append(f"| {run['engine']} | {run['factsheets']['summary']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    parser.add_argument("--repeats", type=int, default=3, help="re-loads per source (median)")
    parser.add_argument("--runs", type=int, default=5, help="runs per query (median)")
    args = parser.parse_args()
    if not real_data_available():
        print(f"The real data is not in {REAL_DATA_DIR}: set DIASPORA_REAL_DATA_DIR.", file=sys.stderr)
        return 2
    results = {"machine": harness.machine(), "engines": []}
    with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as tmp, RealSourcesServer(Path(tmp)) as server:
        for engine in args.engines:
            url, drop = harness.warehouse(engine, Path(tmp), "reporting")
            env = env_for(server, Path(tmp), url, engine)
            try:
                _diaspora(["migrate"], env)
                print(f"{engine}: loads", flush=True)
                loads = bench_loads(env, url, args.repeats)
                print(f"{engine}: queries", flush=True)
                queries = bench_queries(engine, url, args.runs)
                print(f"{engine}: factsheets", flush=True)
                factsheets = bench_factsheets(env)
            finally:
                if drop:
                    drop()
            measured = {"engine": engine, "loads": loads, "queries": queries, "factsheets": factsheets}
            results["engines"].append(measured)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
