"""Shared benchmark harness: each pipeline step of a source in its own process, rows counted back.

Each step's wall time is measured around the step alone (imports done before the clock) and its
peak RSS is the process's own; the RSS after imports is reported as the baseline. The load is
compared, in the same run and on the same database, with a raw bulk append of the same fact rows
into an unindexed table: a DataFrame scan on DuckDB, binary ``COPY`` on PostgreSQL. Every row
count reported is read back from the database, never computed from the frame.

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
STEPS = ("extract", "parse", "validate", "load", "raw_append")


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


def _raw_append(source_key: str, landing_dir: str) -> tuple[float, int]:
    """The rows the load writes, appended as they are to a new unindexed table; (seconds, rows
    counted). The frame is prepared before the clock: this is the bulk append alone."""
    import sqlalchemy as sa

    from diaspora.pipeline import loadable_fact
    from diaspora.settings import get_settings
    from diaspora.sources import get_source
    from diaspora.warehouse.engine import get_engine
    from diaspora.warehouse.load import bulk_insert, create_table_like

    settings = get_settings()
    info = get_source(source_key)
    frame = loadable_fact(landing_dir, settings).assign(release_id=1)  # the very rows load writes
    table = f"staging.bench_raw_{uuid.uuid4().hex[:8]}"
    engine = get_engine(settings.warehouse_url)
    with engine.begin() as conn:
        create_table_like(conn, table, like=info.fact_table, columns=list(frame.columns))
    started = time.perf_counter()  # the append alone
    with engine.begin() as conn:
        bulk_insert(conn, table, frame)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        landed = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        conn.exec_driver_sql(f"DROP TABLE {table}")
    return elapsed, int(landed)


def _fact_rows_of_landing(landing_dir: str) -> int:
    """Rows of the landing's release in its fact table, counted in the database."""
    import sqlalchemy as sa

    from diaspora.landing import Manifest
    from diaspora.settings import get_settings
    from diaspora.sources import get_source
    from diaspora.warehouse.engine import get_engine

    manifest = Manifest.read(landing_dir)
    table = get_source(manifest.source).fact_table
    with get_engine(get_settings().warehouse_url).connect() as conn:
        return conn.execute(
            sa.text(
                f"SELECT count(*) FROM {table} WHERE release_id = (SELECT release_id FROM"
                " dw.dim_source_release WHERE source = :s AND content_sha256 = :h)"
            ),
            {"s": manifest.source, "h": manifest.content_sha256},
        ).scalar_one()


def run_step(source_key: str, step: str, landing_dir: str) -> dict:
    """In the child process: import everything, then time one step alone."""
    import great_expectations  # noqa: F401 - imported before the clock, as in a warm worker

    from diaspora import pipeline
    from diaspora.factsheet import render_all
    from diaspora.settings import get_settings
    from diaspora.warehouse.engine import get_engine

    settings = get_settings()
    get_engine(settings.warehouse_url).connect().close()  # a warm worker's pool holds a connection
    baseline = rss_mb()
    started = time.perf_counter()
    rows = None
    if step == "extract":
        landing_dir = pipeline.extract(source_key, settings)
    elif step in ("parse", "validate"):
        rows = getattr(pipeline, step)(landing_dir, settings).rows
    elif step == "load":
        pipeline.load(landing_dir, settings)
    elif step == "raw_append":
        seconds, rows = _raw_append(source_key, landing_dir)
        return {
            "step": step,
            "seconds": seconds,
            "rows": rows,
            "peak_rss_mb": rss_mb(),
            "baseline_rss_mb": baseline,
        }
    elif step == "reporting":
        rows = render_all(settings)["countries"]  # factsheets written
    else:
        raise ValueError(f"unknown step {step}")
    elapsed = time.perf_counter() - started
    if step == "load":
        rows = _fact_rows_of_landing(landing_dir)  # counted after the clock: the check is not the load
    return {
        "step": step,
        "seconds": elapsed,
        "rows": rows,
        "peak_rss_mb": rss_mb(),
        "baseline_rss_mb": baseline,
        "landing_dir": landing_dir,
    }


PROGRESS = None  # the benchmark's steps, shown as they run (diaspora.progress)


def progress():  # noqa: ANN201 - a diaspora.progress.Progress
    """Every benchmark's progress: the steps done, the time elapsed and the step running."""
    global PROGRESS
    if PROGRESS is None:
        from diaspora.progress import Progress

        PROGRESS = Progress(f"bench {Path(sys.argv[0]).stem}", None)
    return PROGRESS


def child(source_key: str, step: str, env: dict[str, str], landing_dir: str = "") -> dict:
    command = [sys.executable, __file__, "--source", source_key, "--step", step, "--landing-dir", landing_dir]
    progress().start(f"{source_key} {step}")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"step {step} of {source_key} failed:\n{result.stderr[-4000:]}")
    progress().done()
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


def warehouse(engine: str, workdir: Path, name: str) -> tuple[str, Callable[[], None] | None]:
    """A fresh warehouse URL on ``engine`` and what drops it (None for a DuckDB file)."""
    if engine == "duckdb":
        return f"duckdb:///{workdir / f'warehouse-{name}.duckdb'}", None
    return postgres_database()


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time, with every run's time beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {**ordered[len(ordered) // 2], "all_seconds": [r["seconds"] for r in runs]}


def bench_source(
    source_key: str,
    env: dict[str, str],
    fresh_warehouse: Callable[[], tuple[dict[str, str], Callable[[], None] | None]],
    repeats: int = 3,
) -> dict:
    """Every step of ``source_key`` against the warehouse of ``env``; then the load and the raw
    append again on ``repeats - 1`` fresh warehouses (same parsed files), medians reported: one
    run of each is too noisy on a shared 2-core machine to compare them."""
    steps = {"extract": child(source_key, "extract", env)}
    landing_dir = steps["extract"].pop("landing_dir")
    for step in ("parse", "validate"):
        steps[step] = child(source_key, step, env, landing_dir)
    loads = [child(source_key, "load", env, landing_dir)]
    raws = [child(source_key, "raw_append", env, landing_dir)]
    for _ in range(repeats - 1):
        other, drop = fresh_warehouse()
        try:
            subprocess.run(
                [sys.executable, "-m", "diaspora.cli", "db", "upgrade"],
                env=other,
                check=True,
                capture_output=True,
            )
            loads.append(child(source_key, "load", other, landing_dir))
            raws.append(child(source_key, "raw_append", other, landing_dir))
        finally:
            if drop:
                drop()
    steps["load"], steps["raw_append"] = _median_run(loads), _median_run(raws)
    for step in steps.values():
        step.pop("landing_dir", None)
    if any(r["rows"] != loads[0]["rows"] for r in loads + raws):
        raise RuntimeError(f"{source_key}: rows counted back differ between runs: {loads + raws}")
    load, raw = steps["load"], steps["raw_append"]
    return {
        "source": source_key,
        "steps": steps,
        "rows_landed": load["rows"],
        "load_rows_per_s": load["rows"] / load["seconds"],
        "raw_rows_per_s": raw["rows"] / raw["seconds"],
        "load_vs_raw": (load["rows"] / load["seconds"]) / (raw["rows"] / raw["seconds"]),
    }


def run_with_peak_rss(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> dict:
    """Run a command; its wall time, exit code and the peak RSS of that process alone (wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": time.perf_counter() - started,
        "returncode": process.returncode,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "output_tail": output.decode(errors="replace")[-3000:],
    }


def _runs(step: dict) -> str:
    return ", ".join(f"{s:.2f}" for s in step.get("all_seconds", [step["seconds"]]))


def markdown(runs: list[dict]) -> str:
    """Per engine and source: every step, then the load against the raw append."""
    lines = [
        "| engine | source | step | wall time (s) | peak RSS (MB) | rows (counted in the database) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for run in runs:
        for source in run["sources"]:
            for step in STEPS:
                s = source["steps"][step]  # load and raw append: the median run
                rows = f"{s['rows']:,}" if s.get("rows") is not None else ""
                name = step.replace("_", " ")
                lines.append(
                    f"| {run['engine']} | {source['source']} | {name} | {s['seconds']:.2f} |"
                    f" {s['peak_rss_mb']:.0f} | {rows} |"
                )
        reporting = run["reporting"]
        lines.append(
            f"| {run['engine']} | all | reporting (factsheets) | {reporting['seconds']:.2f} |"
            f" {reporting['peak_rss_mb']:.0f} | {reporting['rows']} factsheets |"
        )
    lines += [
        "",
        "| engine | source | rows landed | load (rows/s) | raw append (rows/s) | load ÷ raw | load runs (s)"
        " | raw runs (s) |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        for source in run["sources"]:
            lines.append(
                f"| {run['engine']} | {source['source']} | {source['rows_landed']:,} |"
                f" {source['load_rows_per_s']:,.0f} | {source['raw_rows_per_s']:,.0f} |"
                f" {source['load_vs_raw']:.2f} | {_runs(source['steps']['load'])} |"
                f" {_runs(source['steps']['raw_append'])} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--step", required=True, choices=(*STEPS, "reporting"))
    parser.add_argument("--landing-dir", default="")
    args = parser.parse_args()
    print(json.dumps(run_step(args.source, args.step, args.landing_dir)))
