"""Benchmark: a large SYNTHETIC survey file through read, validate and load, streamed in chunks.

Builds files of N respondents × 50 questions (25 categorical, 25 numeric) in CSV and .sav, and
processes each in its own process on DuckDB and PostgreSQL, reporting the time spent reading,
validating and loading, and the process's peak memory. Two sizes show whether memory grows with
the file (it should not: the pipeline holds one chunk at a time).

    .venv/bin/python bench/surveys_pipeline.py                     # 50,000 and 200,000 respondents
    .venv/bin/python bench/surveys_pipeline.py --sizes 20000 --engines duckdb
    .venv/bin/python bench/surveys_pipeline.py --sizes 800000 --formats csv \
        --out bench/results/surveys_pipeline_800k.json                   # four times larger again
    DIASPORA_DUCKDB_MEMORY_LIMIT=256MB .venv/bin/python bench/surveys_pipeline.py --engines duckdb \
        --formats csv --sizes 50000 200000 800000 1600000 --out /tmp/limit.json  # DuckDB's share
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness  # noqa: E402 - bench/ is the script's folder

RESULTS = harness.ROOT / "bench" / "results" / "surveys_pipeline.json"
QUESTIONS = 50


def definition_yaml() -> str:
    lines = [
        "survey_id: bench_survey",
        "title: Benchmark survey (SYNTHETIC)",
        "producer: benchmark",
        "country: TJK",
        "fieldwork_start: 2024-01-01",
        "fieldwork_end: 2024-12-31",
        'file_pattern: "bench_*"',
        "data_note: SYNTHETIC benchmark data",
        "respondent_id: rid",
        "weight: w",
        "questions:",
    ]
    for q in range(QUESTIONS):
        if q % 2:
            lines.append(f"  - {{code: q{q}, text: Q{q}, type: numeric, min: 0, max: 1000}}")
        else:
            lines.append(
                f'  - {{code: q{q}, text: Q{q}, type: categorical, values: {{"1": a, "2": b, "3": c}}}}'
            )
    return "\n".join(lines) + "\n"


def write_files(folder: Path, respondents: int) -> dict[str, Path]:
    import numpy as np
    import pandas as pd
    import pyreadstat

    rng = np.random.default_rng(7)
    columns = {"rid": np.arange(1, respondents + 1), "w": rng.uniform(0.5, 2.0, respondents).round(3)}
    for q in range(QUESTIONS):
        columns[f"q{q}"] = rng.integers(0, 1000, respondents) if q % 2 else rng.integers(1, 4, respondents)
    frame = pd.DataFrame(columns)
    paths = {"csv": folder / f"bench_{respondents}.csv", "sav": folder / f"bench_{respondents}.sav"}
    frame.to_csv(paths["csv"], index=False)
    pyreadstat.write_sav(frame, str(paths["sav"]))
    return paths


def run_child(path: Path, env: dict[str, str]) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, 'bench'); import harness\n"
        "import great_expectations\n"
        "from pathlib import Path\n"
        "from diaspora.settings import get_settings\n"
        "from diaspora.surveys.process import process_file\n"
        "from diaspora.warehouse.engine import get_engine\n"
        "result = process_file(Path(sys.argv[1]), get_settings())\n"
        "with get_engine(get_settings().warehouse_url).connect() as conn:\n"
        "    landed = conn.exec_driver_sql('SELECT count(*) FROM dw.fact_survey_response').scalar_one()\n"
        "print(json.dumps({**result, 'answers_landed': landed, 'peak_rss_mb': harness.rss_mb()}))\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=harness.ROOT,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"wall_seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[50_000, 200_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    parser.add_argument("--formats", nargs="+", default=["csv", "sav"], choices=["csv", "sav"])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args()
    results = {"machine": harness.machine(), "questions": QUESTIONS, "runs": []}
    with tempfile.TemporaryDirectory(prefix="diaspora-bench-surveys-") as tmp:
        work = Path(tmp)
        (work / "definitions").mkdir()
        (work / "definitions" / "bench.yml").write_text(definition_yaml())
        (work / "expectations").mkdir()
        sys.path.insert(0, str(harness.ROOT))
        from diaspora.surveys.checks import suite_for
        from diaspora.surveys.definitions import load_definition

        suite = suite_for(load_definition(work / "definitions" / "bench.yml"))
        (work / "expectations" / "survey_bench_survey.json").write_text(json.dumps(suite))
        for size in args.sizes:
            files = write_files(work, size)
            for engine in args.engines:
                for file_format, path in files.items():
                    if file_format not in args.formats:
                        continue
                    drop = None
                    if engine == "duckdb":
                        url = f"duckdb:///{work / f'w-{size}-{file_format}.duckdb'}"
                    else:
                        url, drop = harness.postgres_database()
                    env = {
                        **os.environ,
                        "DIASPORA_WAREHOUSE_URL": url,
                        "DIASPORA_DATA_DIR": str(work / "data"),
                        "DIASPORA_SURVEY_DEFINITIONS_DIR": str(work / "definitions"),
                        "DIASPORA_EXPECTATIONS_DIR": str(work / "expectations"),
                        "GX_ANALYTICS_ENABLED": "False",
                        "DIASPORA_SURVEY_INBOX": str(work / "inbox"),
                    }
                    try:
                        subprocess.run(
                            [sys.executable, "-m", "diaspora.cli", "db", "upgrade"],
                            env=env,
                            check=True,
                            capture_output=True,
                            cwd=harness.ROOT,
                        )
                        copy = work / "inbox" / path.name
                        copy.parent.mkdir(exist_ok=True)
                        copy.write_bytes(path.read_bytes())
                        outcome = run_child(copy, env)
                    finally:
                        if drop:
                            drop()
                    run = {
                        "respondents": size,
                        "answers": size * QUESTIONS,
                        "answers_landed": outcome["answers_landed"],  # counted in the database
                        "format": file_format,
                        "engine": engine,
                        "file_mb": path.stat().st_size / 1e6,
                        "status": outcome["status"],
                        "seconds": outcome.get("seconds"),
                        "wall_seconds": outcome["wall_seconds"],
                        "peak_rss_mb": outcome["peak_rss_mb"],
                    }
                    if outcome["status"] != "loaded":
                        run["reasons"] = outcome.get("reasons")
                    results["runs"].append(run)
                    print(json.dumps(run), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(
        "\n| respondents | answers counted in dw | format | engine | read (s) | validate (s) | load (s)"
        " | peak RSS (MB) |"
    )
    print("|---:|---:|---|---|---:|---:|---:|---:|")
    for r in results["runs"]:
        s = r["seconds"] or {}
        print(
            f"| {r['respondents']:,} | {r['answers_landed']:,} | {r['format']} | {r['engine']} |"
            f" {s.get('read', 0):.1f} | {s.get('validate', 0):.1f} | {s.get('load', 0):.1f} |"
            f" {r['peak_rss_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
