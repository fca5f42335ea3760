"""Benchmark: how long each DAG file takes to parse, above `import airflow.sdk`.

The scheduler's dag-processor parses every DAG file again and again, each in a fresh process, so
a DAG file must stay cheap: each run here starts a new Python process, imports airflow.sdk
(Airflow's own cost, not counted), then times running the DAG file (our imports included) until
its DAG object exists. Median of several processes per file.

    .venv/bin/python bench/dag_parse.py            # 7 processes per file
    .venv/bin/python bench/dag_parse.py --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import harness  # noqa: E402 - bench/ is the script's folder

RESULTS = harness.ROOT / "bench" / "results" / "dag_parse.json"
TARGET_MS = 100
PROBE = """
import importlib.util, json, sys, time
import airflow.sdk  # the baseline: every DAG file needs it
from airflow.sdk.definitions._internal.contextmanager import DagContext
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = sys.modules["dag_under_test"] = importlib.util.module_from_spec(spec)
DagContext.current_autoregister_module_name = "dag_under_test"
spec.loader.exec_module(module)
elapsed = time.perf_counter() - started
dags = sorted(dag.dag_id for dag, _ in DagContext.autoregistered_dags)
print(json.dumps({"ms": elapsed * 1000, "dags": dags}))
"""


def parse_ms(dag_file: str) -> dict:
    # With bytecode caches, as a deployed dag-processor has them (without, compiling Airflow's
    # own modules, croniter's among them, costs about 130 ms per process).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, dag_file], capture_output=True, text=True, timeout=120, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{dag_file} failed to parse:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    results = []
    for dag_file in sorted((harness.ROOT / "dags").glob("*.py")):
        parse_ms(str(dag_file))  # a warm-up run writes the bytecode caches; not counted
        runs = [parse_ms(str(dag_file)) for _ in range(args.runs)]
        times = [r["ms"] for r in runs]
        results.append(
            {
                "file": dag_file.name,
                "dags": runs[0]["dags"],
                "median_ms": statistics.median(times),
                "all_ms": times,
            }
        )
    RESULTS.write_text(
        json.dumps({"machine": harness.machine(), "runs": args.runs, "files": results}, indent=2) + "\n"
    )
    print(
        f"| DAG file | DAG | parse time above `import airflow.sdk` (median of {args.runs}, ms) | max (ms) |"
    )
    print("|---|---|---:|---:|")
    for r in results:
        print(f"| `{r['file']}` | {', '.join(r['dags'])} | {r['median_ms']:.1f} | {max(r['all_ms']):.1f} |")
    slow = [r["file"] for r in results if r["median_ms"] >= TARGET_MS]
    print(
        f"\nTarget < {TARGET_MS} ms: {'met by every file' if not slow else 'NOT met by ' + ', '.join(slow)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
