"""DAG integrity: every DAG file imports cleanly and cheaply (the scheduler parses them often)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from diaspora.orchestration import WAREHOUSE_POOL
from tests.support import ROOT

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
HEAVY = ("pandas", "great_expectations", "requests", "sqlalchemy", "duckdb", "psycopg", "pyarrow")


def test_every_dag_file_imports_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "worldbank_indicators",
        "undesa_migrant_stock",
        "unhcr_refugees",
        "knomad_bilateral_remittances",
        "diaspora_reporting",
        "survey_files",
    }
    reporting = bag.dags["diaspora_reporting"]
    assert type(reporting.timetable).__name__ == "AssetTriggeredTimetable"
    assert {a.name for a in reporting.timetable.asset_condition.objects} == {
        "worldbank_indicators",
        "undesa_migrant_stock",
        "unhcr_refugees",
        "knomad_bilateral_remittances",
    }
    sources = (
        ("worldbank_indicators", "0 0 * * 0"),
        ("undesa_migrant_stock", "0 0 1 * *"),
        ("unhcr_refugees", "0 0 1 * *"),
        ("knomad_bilateral_remittances", "0 0 1 * *"),
    )
    for dag_id, schedule in sources:
        dag = bag.dags[dag_id]
        assert dag.catchup is False and dag.timetable.expression == schedule
        assert {t.task_id for t in dag.tasks} == {
            "check_warehouse",
            "extract",
            "check_freshness",
            "is_new_release",
            "parse",
            "validate",
            "load",
        }
        assert [a.name for a in dag.get_task("load").outlets] == [dag_id]
        for task in dag.tasks:
            assert task.retries >= 1 and task.retry_exponential_backoff
            assert task.on_failure_callback and task.on_retry_callback
        assert dag.on_failure_callback
    # Every task that opens the warehouse waits for the warehouse pool; the others do not.
    pooled = {
        (dag_id, task.task_id)
        for dag_id, dag in bag.dags.items()
        for task in dag.tasks
        if task.pool == WAREHOUSE_POOL
    }
    opens_the_warehouse = {
        (dag_id, task_id)
        for dag_id, _ in sources
        for task_id in ("check_warehouse", "is_new_release", "validate", "load")
    } | {
        ("survey_files", "check_warehouse"),
        ("survey_files", "pending_files"),
        ("survey_files", "process_file"),
        ("diaspora_reporting", "render_factsheets"),
    }
    assert pooled == opens_the_warehouse


_PROBE = """
import json, runpy, sys
import airflow.sdk  # Airflow's own imports are the baseline
before = set(sys.modules)
runpy.run_path(sys.argv[1])
after = set(sys.modules)
print(json.dumps({"new": sorted(after - before),
                  "ours": sorted(m for m in after if m == "diaspora" or m.startswith("diaspora."))}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_does_not_import_heavy_modules(dag_file):
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(dag_file)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    new_heavy = [m for m in imported["new"] if m.split(".")[0] in HEAVY]
    assert new_heavy == [], f"{dag_file.name} imports {new_heavy[:5]} at parse time"
    # Airflow itself imports SQLAlchemy, so also check our own module-level imports statically.
    for module in imported["ours"]:
        path = ROOT / "plugins" / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / "plugins" / module.replace(".", "/") / "__init__.py"
        assert _module_level_heavy_imports(path) == [], f"{path.name} imports heavy modules at top level"
    assert _module_level_heavy_imports(dag_file) == []


def _module_level_heavy_imports(path) -> list[str]:
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in HEAVY]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in HEAVY:
            found.append(node.module)
    return found
