"""Helpers for the few end-to-end tests that run a DAG with dag.test()."""

from __future__ import annotations

from tests.conftest import ROOT


def load_dag(dag_id: str):
    """The DAG from its file in dags/, failing the test on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
