"""Under a real Airflow, as in production: `airflow db migrate` on a PostgreSQL metadata database,
then the scheduler, the dag-processor and the API server as separate processes (LocalExecutor),
driven through the REST API with a login token. Every source DAG is unpaused and triggered at
once, twice: the first round loads the bundled samples (real figures, see each source's sample/; the survey
files are SYNTHETIC) with no task needing a retry, the second loads nothing new and duplicates no
fact row. Once with the DuckDB warehouse (its tasks queue on a one-slot pool: one process may
open the file), once with PostgreSQL (several at once)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import datetime

import psycopg
import pytest
import sqlalchemy as sa

from diaspora.sources import registry
from tests.conftest import _postgres_admin_url
from tests.support import ROOT
from tests.support.airflow_cluster import AirflowCluster, airflow_env
from tests.support.sql import rows_then_close

pytestmark = [pytest.mark.scheduler, pytest.mark.postgres]

PUBLISHED = ["worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees", "knomad_bilateral_remittances"]
SOURCES = [*PUBLISHED, "survey_files"]
ALL_DAGS = [*SOURCES, "diaspora_reporting"]
FACT_KEYS = {
    "dw.fact_indicator_value": "country_code, indicator_code, year, release_id",
    "dw.fact_migrant_stock": "origin_code, destination_code, year, sex, release_id",
    "dw.fact_refugee_population": "origin_code, asylum_code, year, population_type, release_id",
    "dw.fact_published_remittance": "receiving_code, sending_code, year, release_id",
    "dw.fact_survey_response": "file_id, respondent_id, question_code, answer_no",
}
SAMPLES = ROOT / "snapshots"  # the survey files


def _admin_dsn() -> str:
    return (
        sa.make_url(_postgres_admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def _database(name: str) -> str:
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return sa.make_url(_postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def _drop(name: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgresql"])
def cluster(request, tmp_path, postgres_database):
    databases = [f"af_meta_{uuid.uuid4().hex[:8]}"]
    metadata_url = _database(databases[0])
    if request.param == "duckdb":
        warehouse_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        databases.append(f"af_dw_{uuid.uuid4().hex[:8]}")
        warehouse_url = _database(databases[1])
    inbox = tmp_path / "data" / "surveys" / "inbox"
    inbox.mkdir(parents=True)
    for sample in (SAMPLES / "surveys").glob("tj_lms_2024_*"):
        if sample.suffix in (".csv", ".sav", ".dta"):
            copied = shutil.copy(sample, inbox)  # SYNTHETIC survey files, a broken one among them
            os.utime(copied, (time.time() - 600, time.time() - 600))  # complete: dropped ten minutes ago
    home = tmp_path / "airflow"
    env = airflow_env(
        home,
        metadata_url,
        {
            "DIASPORA_WAREHOUSE_URL": warehouse_url,
            "DIASPORA_DATA_DIR": str(tmp_path / "data"),
            **{  # every source's bundled sample, as its contract names it
                f"DIASPORA_{source.sample_setting.upper()}": f"file://{ROOT / source.sample}"
                for source in registry().values()
            },
            "DIASPORA_SURVEY_SALT": "test-salt-not-a-secret",
            "DIASPORA_TASK_RETRY_DELAY_SECONDS": "5",  # a retry (a failure here) must not stall the test
        },
    )
    cluster = AirflowCluster(home, env)
    try:
        cluster.deploy()
        cluster.start("scheduler", "dag-processor", "api-server")
        cluster.wait_until_up(set(ALL_DAGS))
        yield cluster, request.param, warehouse_url
    finally:
        cluster.stop()
        for name in databases:
            _drop(name)


def _settled_runs(cluster: AirflowCluster) -> dict[str, list[dict]]:
    """Every run of every DAG once all have finished and no new one appeared for a while (the
    reporting DAG starts on the Assets the loads emit)."""
    runs = cluster.wait_for_runs(ALL_DAGS)
    while True:
        time.sleep(10)
        again = cluster.wait_for_runs(ALL_DAGS)
        if {d: len(r) for d, r in again.items()} == {d: len(r) for d, r in runs.items()}:
            return again
        runs = again


def _facts(url: str) -> dict[str, tuple[int, int]]:
    """Per fact table: (rows, distinct keys)."""
    return {
        table: rows_then_close(
            url,
            f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table}) AS k) FROM {table}",
        )[0]
        for table, key in FACT_KEYS.items()
    }


def _overlapping_warehouse_tasks(cluster: AirflowCluster, runs: dict[str, list[dict]]) -> list[tuple]:
    """Pairs of pooled task instances that ran (skipped ones never started) at overlapping times."""
    spans = []
    for dag_id, dag_runs in runs.items():
        for run in dag_runs:
            for ti in cluster.task_instances(dag_id, run["dag_run_id"]):
                ran = ti["state"] in ("success", "failed") and ti["start_date"] and ti["end_date"]
                if ti["pool"] == "diaspora_warehouse" and ran:
                    start = datetime.fromisoformat(ti["start_date"].replace("Z", "+00:00"))
                    end = datetime.fromisoformat(ti["end_date"].replace("Z", "+00:00"))
                    spans.append((start, end, f"{dag_id}.{ti['task_id']}[{ti['map_index']}]"))
    spans.sort()
    return [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1 :] if b[0] < a[1]]


def _pause_all(cluster: AirflowCluster, paused: bool) -> None:
    for dag_id in ALL_DAGS:
        cluster.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})


def test_every_source_dag_at_once_twice_under_a_real_scheduler(cluster):
    cluster, engine, warehouse_url = cluster
    pool = cluster.request("GET", "/api/v2/pools/diaspora_warehouse")
    assert pool["slots"] == (1 if engine == "duckdb" else 8)

    _pause_all(cluster, paused=False)
    for dag_id in SOURCES:  # at once: five triggers in a row, then wait
        cluster.trigger(dag_id)
    first = _settled_runs(cluster)
    problems = cluster.failures(first)
    assert not problems, "\n\n".join(problems)
    assert first["diaspora_reporting"], "the loads' Assets started no reporting run"
    if engine == "duckdb":
        assert _overlapping_warehouse_tasks(cluster, first) == []  # one process at a time, by the pool

    _pause_all(cluster, paused=True)  # nothing starts while the test reads the warehouse
    facts = _facts(warehouse_url)
    for table, (rows, distinct) in facts.items():
        assert rows > 0 and rows == distinct, (table, rows, distinct)
    releases = rows_then_close(warehouse_url, "SELECT count(*) FROM dw.dim_source_release")[0][0]
    loads = rows_then_close(warehouse_url, "SELECT count(*) FROM etl.load_run WHERE status = 'success'")[0][0]
    assert releases == len(PUBLISHED) and loads == len(PUBLISHED)  # each sample release loaded once

    _pause_all(cluster, paused=False)
    for dag_id in SOURCES:
        cluster.trigger(dag_id)
    second = _settled_runs(cluster)
    new = {d: [r for r in runs if r not in first[d]] for d, runs in second.items()}
    problems = cluster.failures(new)
    assert not problems, "\n\n".join(problems)
    for dag_id in PUBLISHED:
        (run,) = [r for r in new[dag_id] if r["run_type"] == "manual"]
        states = {ti["task_id"]: ti["state"] for ti in cluster.task_instances(dag_id, run["dag_run_id"])}
        assert states["is_new_release"] == "success" and states["load"] == "skipped", (dag_id, states)

    _pause_all(cluster, paused=True)
    assert _facts(warehouse_url) == facts  # nothing new, nothing twice
    assert rows_then_close(warehouse_url, "SELECT count(*) FROM dw.dim_source_release")[0][0] == releases
