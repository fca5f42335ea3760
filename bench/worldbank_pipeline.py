"""Benchmark: a full-size World Bank pull through extract, parse, validate and load.

All countries × the configured indicators × 1990–2025, served in the API's real format by a
local HTTP server (SYNTHETIC values and country codes, real page structure). Each step runs in
its own Python process so that its wall time and peak memory are its own; imports are done
before the clock starts and reported as the process's baseline RSS.

The load throughput is compared with a raw bulk insert of the same fact rows into a scratch
table of the same database in the same run (the same bulk path, without staging, merge,
release and audit).

    .venv/bin/python bench/worldbank_pipeline.py            # DuckDB and PostgreSQL
    .venv/bin/python bench/worldbank_pipeline.py --engines duckdb
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "worldbank_pipeline.json"
YEARS = range(1990, 2026)
N_COUNTRIES, N_AGGREGATES = 217, 49  # the API's /country lists about 217 economies + 49 aggregates
POSTGRES_ADMIN = os.environ.get(
    "DIASPORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# --- the synthetic API -----------------------------------------------------------------------


def _codes(n: int, offset: int = 0) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [
        letters[(i // 676) % 26] + letters[(i // 26) % 26] + letters[i % 26]
        for i in range(offset, offset + n)
    ]


def build_payload_rows(indicators: list[dict]) -> dict[str, list[dict]]:
    countries = _codes(N_COUNTRIES)
    aggregates = _codes(N_AGGREGATES, offset=N_COUNTRIES)
    region = {"id": "ECS", "iso2code": "Z7", "value": "Europe & Central Asia"}
    agg = {"id": "NA", "iso2code": "NA", "value": "Aggregates"}
    income = {"id": "LMC", "iso2code": "XN", "value": "Lower middle income"}
    meta_rows = [
        {"id": c, "iso2Code": c[:2], "name": f"Synthetic {c}", "region": region, "incomeLevel": income}
        for c in countries
    ] + [
        {"id": c, "iso2Code": c[:2], "name": f"Aggregate {c}", "region": agg, "incomeLevel": agg}
        for c in aggregates
    ]
    rows = {"country": meta_rows}
    for n, indicator in enumerate(indicators):
        code = indicator["code"]
        values = []
        for i, country in enumerate(countries + aggregates):
            for year in YEARS:
                if (i + year + n) % 11 == 0:
                    value = None
                elif indicator.get("percentage"):
                    value = round((i * 7 + year) % 97 + 0.5, 3)
                else:
                    value = float((i + 1) * (year - 1980) * 1000 - (n * 500))
                values.append(
                    {
                        "indicator": {"id": code, "value": indicator["name"]},
                        "country": {"id": country[:2], "value": f"Synthetic {country}"},
                        "countryiso3code": country,
                        "date": str(year),
                        "value": value,
                        "unit": "",
                        "obs_status": "",
                        "decimal": 0,
                    }
                )
        rows[f"indicator/{code}"] = values
    return rows


def serve(rows: dict[str, list[dict]]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path.removeprefix("/v2/")
            key = "country" if path == "country" else path.replace("country/all/", "")
            data = rows.get(key)
            if data is None:
                self.send_error(404)
                return
            per_page, page = int(query["per_page"][0]), int(query["page"][0])
            meta = {
                "page": page,
                "pages": math.ceil(len(data) / per_page),
                "per_page": per_page,
                "total": len(data),
                "sourceid": "2",
                "lastupdated": "2025-07-01",
            }
            body = json.dumps([meta, data[(page - 1) * per_page : page * per_page]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the benchmark's output readable
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v2"


# --- one step in its own process ---------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, landing_dir: str) -> dict:
    """Executed in a child process: import everything, then time the step alone."""
    import great_expectations  # noqa: F401 - imported before the clock, as in a warm worker

    from diaspora import pipeline
    from diaspora.settings import get_settings
    from diaspora.sources.base import ParsedDataset
    from diaspora.warehouse.engine import get_engine
    from diaspora.warehouse.load import bulk_insert

    settings = get_settings()
    baseline = _rss_mb()
    started = time.perf_counter()
    rows = None
    if step == "extract":
        landing_dir = pipeline.extract("worldbank_indicators", settings)
    elif step == "parse":
        rows = pipeline.parse(landing_dir, settings).rows
    elif step == "validate":
        rows = pipeline.validate(landing_dir, settings).rows
    elif step == "load":
        rows = pipeline.load(landing_dir, settings).rows
    elif step == "raw_bulk_insert":
        manifest = pipeline.Manifest.read(landing_dir)
        frame = ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id).frames[
            "dw.fact_indicator_value"
        ]
        frame = frame.drop(columns=["is_percentage"]).assign(release_id=1)
        table = f"staging.bench_raw_{uuid.uuid4().hex[:8]}"
        engine = get_engine(settings.warehouse_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {table} AS SELECT * FROM dw.fact_indicator_value WHERE 1 = 0")
        started = time.perf_counter()  # the raw insert alone
        with engine.begin() as conn:
            rows = bulk_insert(conn, table, frame)
        elapsed = time.perf_counter() - started
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {table}")
        return {
            "step": step,
            "seconds": elapsed,
            "rows": rows,
            "peak_rss_mb": _rss_mb(),
            "baseline_rss_mb": baseline,
        }
    return {
        "step": step,
        "seconds": time.perf_counter() - started,
        "rows": rows,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "landing_dir": landing_dir,
    }


def child(step: str, env: dict[str, str], landing_dir: str = "") -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--step", step, "--landing-dir", landing_dir],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- orchestration -------------------------------------------------------------------------------


def _postgres_database() -> tuple[str, callable]:
    import psycopg
    import sqlalchemy as sa

    admin = sa.make_url(POSTGRES_ADMIN)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"diaspora_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(database=name).render_as_string(hide_password=False), drop


def bench_engine(engine: str, base_url: str, workdir: Path) -> dict:
    drop = None
    if engine == "duckdb":
        url = f"duckdb:///{workdir / 'warehouse.duckdb'}"
    else:
        url, drop = _postgres_database()
    env = {
        **os.environ,
        "DIASPORA_DATA_DIR": str(workdir / f"data-{engine}"),
        "DIASPORA_WAREHOUSE_URL": url,
        "DIASPORA_WORLDBANK_BASE_URL": base_url,
        "DIASPORA_WORLDBANK_PER_PAGE": "1000",
        "GX_ANALYTICS_ENABLED": "False",
    }
    try:
        subprocess.run(
            [sys.executable, "-m", "diaspora.cli", "db", "upgrade"], env=env, check=True, capture_output=True
        )
        steps = {"extract": child("extract", env)}
        landing_dir = steps["extract"]["landing_dir"]
        for step in ("parse", "validate", "load", "raw_bulk_insert"):
            steps[step] = child(step, env, landing_dir)
    finally:
        if drop:
            from diaspora.warehouse.engine import get_engine

            get_engine(url).dispose()
            drop()
    steps["extract"].pop("landing_dir")  # a temporary path: not a result
    load, raw = steps["load"], steps["raw_bulk_insert"]
    return {
        "engine": engine,
        "steps": steps,
        "load_rows_per_s": load["rows"] / load["seconds"],
        "raw_rows_per_s": raw["rows"] / raw["seconds"],
        "load_vs_raw": (load["rows"] / load["seconds"]) / (raw["rows"] / raw["seconds"]),
    }


def markdown(results: dict) -> str:
    lines = [
        f"Full-size pull: {results['fact_rows']:,} fact rows ({results['countries']} countries and"
        f" aggregates × {results['indicators']} indicators × {results['years']} years),"
        f" {results['payload_mb']:.1f} MB of JSON in {results['pages']} pages."
        f" Machine: {results['machine']}.",
        "",
        "| engine | step | wall time (s) | peak RSS (MB) | RSS after imports (MB) |",
        "|---|---|---:|---:|---:|",
    ]
    for run in results["runs"]:
        for step in ("extract", "parse", "validate", "load", "raw_bulk_insert"):
            s = run["steps"][step]
            lines.append(
                f"| {run['engine']} | {step} | {s['seconds']:.2f} | {s['peak_rss_mb']:.0f} |"
                f" {s['baseline_rss_mb']:.0f} |"
            )
    lines += [
        "",
        "| engine | load (rows/s) | raw bulk insert (rows/s) | load ÷ raw |",
        "|---|---:|---:|---:|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['engine']} | {run['load_rows_per_s']:,.0f} | {run['raw_rows_per_s']:,.0f} |"
            f" {run['load_vs_raw']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--landing-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.landing_dir)))
        return 0

    import yaml

    indicators = yaml.safe_load((ROOT / "config" / "worldbank_indicators.yml").read_text())["indicators"]
    rows = build_payload_rows(indicators)
    server, base_url = serve(rows)
    fact_rows = sum(len(v) for k, v in rows.items() if k != "country")
    try:
        with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as workdir:
            runs = [bench_engine(engine, base_url, Path(workdir)) for engine in args.engines]
    finally:
        server.shutdown()
    results = {
        "fact_rows": fact_rows,
        "countries": N_COUNTRIES + N_AGGREGATES,
        "indicators": len(indicators),
        "years": len(YEARS),
        "pages": sum(math.ceil(len(v) / 1000) for v in rows.values()),
        "payload_mb": sum(len(json.dumps(v)) for v in rows.values()) / 1e6,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
