"""Helpers for the few end-to-end tests that run a DAG with dag.test()."""

from __future__ import annotations

from tests.support import ROOT


def load_dag(dag_id: str, deploy: bool = True):
    """The DAG from its file in dags/ (``sources.py`` for a source's), failing the test on any
    import error.

    With ``deploy`` the configured warehouse is first migrated and its reference data synced, as
    the deploy step does (`diaspora migrate`): DAG runs only check that it was.
    """
    from airflow.dag_processing.dagbag import DagBag

    if deploy:
        from diaspora import pipeline

        pipeline.prepare_warehouse()
    path = ROOT / "dags" / f"{dag_id}.py"
    bag = DagBag(dag_folder=str(path if path.exists() else ROOT / "dags" / "sources.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
