"""Shared benchmark harness: run each pipeline step of a source in its own process.

Each step's wall time is measured around the step alone (imports done before the clock) and its
peak RSS is the process's own; the RSS after imports is reported as the baseline. The load is
compared with a raw bulk insert of the same fact rows into a scratch table of the same
database in the same run (same bulk path, without staging, merge, release and audit).

Used as a library by the benchmark scripts and as the child process they start:
    python bench/harness.py --source SOURCE --step STEP --landing-dir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN = os.environ.get(
    "DIASPORA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STEPS = ("extract", "parse", "validate", "load", "raw_bulk_insert")


def rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux's VmHWM belongs to this process image alone; ru_maxrss can carry the parent's peak
    across fork + exec, which inflated the figures of children started by a large parent.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB elsewhere


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_step(source_key: str, step: str, landing_dir: str) -> dict:
    """In the child process: import everything, then time one step alone."""
    import great_expectations  # noqa: F401 - imported before the clock, as in a warm worker

    from diaspora import pipeline
    from diaspora.settings import get_settings
    from diaspora.sources import get_source
    from diaspora.sources.base import ParsedDataset
    from diaspora.warehouse.engine import get_engine
    from diaspora.warehouse.load import bulk_insert

    settings = get_settings()
    baseline = rss_mb()
    started = time.perf_counter()
    rows = None
    if step == "extract":
        landing_dir = pipeline.extract(source_key, settings)
    elif step in ("parse", "validate", "load"):
        rows = getattr(pipeline, step)(landing_dir, settings).rows
    elif step == "raw_bulk_insert":
        info = get_source(source_key).INFO
        manifest = pipeline.Manifest.read(landing_dir)
        frames = ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id).frames
        frame = frames[info.fact_table].drop(columns=list(info.validation_only_columns)).assign(release_id=1)
        table = f"staging.bench_raw_{uuid.uuid4().hex[:8]}"
        engine = get_engine(settings.warehouse_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {table} AS SELECT * FROM {info.fact_table} WHERE 1 = 0")
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
            "peak_rss_mb": rss_mb(),
            "baseline_rss_mb": baseline,
        }
    else:
        raise ValueError(f"unknown step {step}")
    return {
        "step": step,
        "seconds": time.perf_counter() - started,
        "rows": rows,
        "peak_rss_mb": rss_mb(),
        "baseline_rss_mb": baseline,
        "landing_dir": landing_dir,
    }


def child(source_key: str, step: str, env: dict[str, str], landing_dir: str = "") -> dict:
    command = [sys.executable, __file__, "--source", source_key, "--step", step, "--landing-dir", landing_dir]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def postgres_database() -> tuple[str, Callable[[], None]]:
    """A throwaway database on the test server and the function that drops it."""
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


def bench_engine(source_key: str, engine: str, source_env: dict[str, str], workdir: Path) -> dict:
    """Every step of ``source_key`` on a fresh warehouse of ``engine``; steps and throughputs."""
    drop = None
    if engine == "duckdb":
        url = f"duckdb:///{workdir / f'warehouse-{source_key}.duckdb'}"
    else:
        url, drop = postgres_database()
    env = {
        **os.environ,
        **source_env,
        "DIASPORA_DATA_DIR": str(workdir / f"data-{source_key}-{engine}"),
        "DIASPORA_WAREHOUSE_URL": url,
        "GX_ANALYTICS_ENABLED": "False",
    }
    try:
        subprocess.run(
            [sys.executable, "-m", "diaspora.cli", "db", "upgrade"], env=env, check=True, capture_output=True
        )
        steps = {"extract": child(source_key, "extract", env)}
        landing_dir = steps["extract"].pop("landing_dir")
        for step in STEPS[1:]:
            steps[step] = child(source_key, step, env, landing_dir)
            steps[step].pop("landing_dir", None)
    finally:
        if drop:
            drop()
    load, raw = steps["load"], steps["raw_bulk_insert"]
    return {
        "engine": engine,
        "steps": steps,
        "rerun": {"env": env, "landing_dir": landing_dir},  # for extra steps; not a result
        "load_rows_per_s": load["rows"] / load["seconds"],
        "raw_rows_per_s": raw["rows"] / raw["seconds"],
        "load_vs_raw": (load["rows"] / load["seconds"]) / (raw["rows"] / raw["seconds"]),
    }


def markdown(runs: list[dict]) -> str:
    lines = [
        "| engine | step | wall time (s) | peak RSS (MB) | RSS after imports (MB) |",
        "|---|---|---:|---:|---:|",
    ]
    for run in runs:
        for step in STEPS:
            s = run["steps"][step]
            lines.append(
                f"| {run['engine']} | {step.replace('_', ' ')} | {s['seconds']:.2f} |"
                f" {s['peak_rss_mb']:.0f} | {s['baseline_rss_mb']:.0f} |"
            )
    lines += [
        "",
        "| engine | load (rows/s) | raw bulk insert (rows/s) | load ÷ raw |",
        "|---|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run['engine']} | {run['load_rows_per_s']:,.0f} | {run['raw_rows_per_s']:,.0f} |"
            f" {run['load_vs_raw']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--step", required=True, choices=STEPS)
    parser.add_argument("--landing-dir", default="")
    args = parser.parse_args()
    print(json.dumps(run_step(args.source, args.step, args.landing_dir)))
