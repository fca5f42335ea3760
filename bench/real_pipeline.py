"""Benchmark at real size: the REAL public data of every country (``../shared/data/real/``), served
in each source's published format by a local HTTP server (``tests/support/real_sources.py``).

Per engine (DuckDB, PostgreSQL): each source through extract, parse, validate and load, each step
in its own process, the load side by side with a raw append of the same rows (DataFrame scan /
binary COPY into an unindexed table; three times each, on fresh warehouses, medians reported), then
the reporting step (every factsheet). Then the whole
run as ``make run`` does it — every DAG (the three sources, the survey inbox with the SYNTHETIC
sample files, the reporting DAG) in one ``diaspora run-dags`` process on a fresh warehouse — timed
with that process's peak memory. Every row count is read back from the database and checked
against the rows the server served; a difference stops the benchmark.

    .venv/bin/python bench/real_pipeline.py                       # both engines
    .venv/bin/python bench/real_pipeline.py --engines duckdb --skip-whole-run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import harness  # noqa: E402 - bench/ is the script's folder

sys.path.insert(0, str(harness.ROOT))

from tests.support.real_sources import (  # noqa: E402
    REAL_DATA_DIR,
    WB_INDICATORS,
    RealSourcesServer,
    real_data_available,
)

RESULTS = harness.ROOT / "bench" / "results" / "real_pipeline.json"
SOURCES = ("worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees")
FACT_TABLES = {
    "worldbank_indicators": "dw.fact_indicator_value",
    "undesa_migrant_stock": "dw.fact_migrant_stock",
    "unhcr_refugees": "dw.fact_refugee_population",
}
UNHCR_YEAR_FROM = 1951  # the whole table


def served_rows(server: RealSourcesServer) -> dict[str, int]:
    """Fact rows each source's payloads hold, counted from what the server sends."""
    return {
        "worldbank_indicators": sum(
            len(server.worldbank.indicator_rows(code, 1990)) for code in WB_INDICATORS
        ),
        "undesa_migrant_stock": server.ims_info.workbook_rows * 24,  # 3 sexes × 8 years per row
        "unhcr_refugees": len(server.unhcr.items(UNHCR_YEAR_FROM)) * 9,  # 9 population types per item
    }


def base_env(server: RealSourcesServer, workdir: Path, url: str, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "DIASPORA_DATA_DIR": str(workdir / f"data-{name}"),
        "DIASPORA_WAREHOUSE_URL": url,
        "DIASPORA_WORLDBANK_BASE_URL": server.worldbank_base_url,
        "DIASPORA_UNDESA_IMS_URL": server.undesa_ims_url,
        "DIASPORA_UNHCR_BASE_URL": server.unhcr_base_url,
        "DIASPORA_UNHCR_YEAR_FROM": str(UNHCR_YEAR_FROM),
        "GX_ANALYTICS_ENABLED": "False",
    }


def bench_steps(
    engine: str, server: RealSourcesServer, workdir: Path, expected: dict[str, int], repeats: int
) -> dict:
    url, drop = harness.warehouse(engine, workdir, "steps")
    env = base_env(server, workdir, url, f"steps-{engine}")

    def fresh_warehouse() -> tuple[dict[str, str], object]:
        other_url, other_drop = harness.warehouse(engine, workdir, f"repeat-{uuid.uuid4().hex[:6]}")
        return {**env, "DIASPORA_WAREHOUSE_URL": other_url}, other_drop

    try:
        _diaspora(["db", "upgrade"], env)
        sources = [harness.bench_source(source, env, fresh_warehouse, repeats) for source in SOURCES]
        reporting = harness.child("reporting", "reporting", env)
    finally:
        if drop:
            drop()
    for source in sources:
        wanted = expected[source["source"]]
        if source["rows_landed"] != wanted or source["steps"]["raw_append"]["rows"] != wanted:
            raise SystemExit(
                f"{engine} {source['source']}: {source['rows_landed']:,} rows landed, {wanted:,} served"
            )
    return {"engine": engine, "sources": sources, "reporting": reporting}


def bench_whole_run(engine: str, server: RealSourcesServer, workdir: Path, expected: dict[str, int]) -> dict:
    """Every DAG once, in dependency order, as ``make run`` runs them, on a fresh warehouse."""
    url, drop = harness.warehouse(engine, workdir, "whole")
    env = base_env(server, workdir, url, f"whole-{engine}")
    airflow_home = workdir / f"airflow-{engine}"
    inbox = workdir / f"data-whole-{engine}" / "surveys" / "inbox"
    inbox.mkdir(parents=True)
    for sample in (harness.ROOT / "snapshots" / "surveys").glob("tj_lms_2024_*"):
        if sample.suffix in (".csv", ".sav", ".dta"):
            shutil.copy(sample, inbox)  # SYNTHETIC survey files, the demo's
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(harness.ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "DIASPORA_SURVEY_SALT": "benchmark-salt-not-a-secret",
        }
    )
    try:
        subprocess.run(  # Airflow's own database, before the clock (make airflow-db does it once)
            [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        result = harness.run_with_peak_rss([str(Path(sys.executable).with_name("diaspora")), "run-dags"], env)
        if result["returncode"] != 0:
            raise SystemExit(f"{engine}: diaspora run-dags failed:\n{result['output_tail']}")
        result["rows_landed"] = _count_facts(env)
    finally:
        if drop:
            drop()
    for source, table in FACT_TABLES.items():
        if result["rows_landed"][table] != expected[source]:
            held = result["rows_landed"][table]
            raise SystemExit(f"{engine} whole run: {table} holds {held:,}, not {expected[source]:,}")
    result.pop("output_tail")
    return {"engine": engine, **result}


def _count_facts(env: dict[str, str]) -> dict[str, int]:
    script = (
        "import json, sqlalchemy as sa\n"
        "from diaspora.settings import get_settings\n"
        "from diaspora.warehouse.engine import get_engine\n"
        "with get_engine(get_settings().warehouse_url).connect() as conn:\n"
        f"    print(json.dumps({{t: conn.execute(sa.text(f'SELECT count(*) FROM {{t}}')).scalar_one()"
        f" for t in {sorted(FACT_TABLES.values())!r} + ['dw.fact_survey_response']}}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _diaspora(arguments: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "diaspora.cli", *arguments], env=env, check=True, capture_output=True
    )


def whole_run_markdown(runs: list[dict]) -> str:
    lines = [
        "| engine | whole run (s) | peak RSS (MB) | rows counted back: WB / UN DESA / UNHCR / survey |",
        "|---|---:|---:|---|",
    ]
    for run in runs:
        rows = run["rows_landed"]
        counted = " / ".join(f"{rows[t]:,}" for t in (*FACT_TABLES.values(), "dw.fact_survey_response"))
        lines.append(f"| {run['engine']} | {run['seconds']:.1f} | {run['peak_rss_mb']:.0f} | {counted} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    parser.add_argument("--skip-whole-run", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="load and raw append runs per source (median)")
    args = parser.parse_args()
    if not real_data_available():
        print(f"The real data is not in {REAL_DATA_DIR}: set DIASPORA_REAL_DATA_DIR.", file=sys.stderr)
        return 2
    results = {"machine": harness.machine(), "steps": [], "whole_run": []}
    with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as tmp, RealSourcesServer(Path(tmp)) as server:
        workdir = Path(tmp)
        expected = served_rows(server)
        results["served_rows"] = expected
        for engine in args.engines:
            results["steps"].append(bench_steps(engine, server, workdir, expected, args.repeats))
            print(f"{engine}: steps done", flush=True)
            if not args.skip_whole_run:
                results["whole_run"].append(bench_whole_run(engine, server, workdir, expected))
                print(f"{engine}: whole run done", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(harness.markdown(results["steps"]))
    if results["whole_run"]:
        print()
        print(whole_run_markdown(results["whole_run"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
