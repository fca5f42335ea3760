"""Builds the Airflow DAG of a source from the shared steps in :mod:`diaspora.pipeline`.

Only Airflow's Task SDK and the standard library are imported at module level: the scheduler
parses DAG files continuously, and pandas, Great Expectations, requests and SQLAlchemy are
imported inside the tasks that need them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from diaspora.alerts import on_dag_failure, on_task_failure, on_task_retry
from diaspora.assets import asset_of
from diaspora.sources.contract import Source


def default_args() -> dict:
    """Task defaults. Retries come from the environment (not Airflow Variables): parsing stays cheap."""
    return {
        "owner": "diaspora",
        "retries": int(os.environ.get("DIASPORA_TASK_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("DIASPORA_TASK_RETRY_DELAY_SECONDS", "120"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        # No task holds a worker (or DuckDB's one pool slot) forever: a hung or runaway task fails.
        "execution_timeout": timedelta(minutes=float(os.environ.get("DIASPORA_TASK_TIMEOUT_MINUTES", "120"))),
        "on_failure_callback": on_task_failure,
        "on_retry_callback": on_task_retry,
    }


START_DATE = datetime(2024, 1, 1)
# Every task that opens the warehouse runs in this Airflow pool (created by `diaspora pool`): one
# slot on DuckDB, which one process at a time may open, several on PostgreSQL.
WAREHOUSE_POOL = os.environ.get("DIASPORA_WAREHOUSE_POOL", "diaspora_warehouse")


def _run_context():  # noqa: ANN202 - RunContext is imported lazily
    from diaspora.warehouse.audit import RunContext

    context = get_current_context()
    return RunContext(dag_id=context["ti"].dag_id, run_id=context["run_id"])


def warehouse_ready() -> dict:
    """The first task of every DAG that writes the warehouse: no retry when it is behind."""
    from diaspora import pipeline
    from diaspora.errors import WarehouseNotReady

    try:
        return pipeline.check_warehouse()
    except WarehouseNotReady as exc:
        raise AirflowFailException(str(exc)) from exc


# A source DAG triggered with these in its conf re-loads a stored release instead of fetching:
#   airflow dags trigger unhcr_refugees --conf '{"release": "UNHCR population 2024"}'
#   airflow dags trigger undesa_migrant_stock --conf '{"accept": true}'   (the release held back last)
BACKFILL_PARAMS = {
    "release": Param(
        None,
        type=["null", "string"],
        description="Load this stored release (its label, release_id or landing folder) without the "
        "network, instead of fetching; empty: fetch the source.",
    ),
    "reload": Param(False, type="boolean", description="Load the release even if it is loaded already."),
    "accept": Param(
        False,
        type="boolean",
        description="Load the release although the revision policy holds it back (a new edition held "
        "for review, or a quarantined release), after review with `diaspora diff`; without a release "
        "named, the one held back last, without the network.",
    ),
    "accept_removals": Param(False, type="boolean", description="The former name of accept (still read)."),
}


def _param(name: str):  # noqa: ANN202 - a Param's value
    return get_current_context()["params"].get(name)


def dag_settings(doc_md: str, tags: tuple[str, ...]) -> dict:
    """What every DAG of the project shares: no catchup, one run at a time, retries, callbacks."""
    return {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(),
        "on_failure_callback": on_dag_failure,
        "doc_md": doc_md,
        "tags": ["diaspora", *tags],
    }


def build_source_dag(source: Source) -> DAG:
    """The DAG of ``source``, from its contract (dag_id = key, schedule, tags, documentation):
    check_warehouse → extract → is_new_release → parse → validate → load (emits ``asset``),
    with check_freshness beside is_new_release (a stale source warns even when nothing changed).
    Triggered with ``{"release": …}`` (see :data:`BACKFILL_PARAMS`), extract takes that stored
    landing instead of fetching: a backfill without the network.

    The tasks that open the warehouse run in :data:`WAREHOUSE_POOL`; extract, parse and
    check_freshness do not touch it and run beside other DAGs' warehouse tasks."""
    source_key, asset = source.key, asset_of(source)
    settings = dag_settings(source.description, ("source", *source.tags))
    if source.retries is not None:
        settings["default_args"]["retries"] = source.retries
    with DAG(dag_id=source_key, schedule=source.schedule, params=BACKFILL_PARAMS, **settings) as dag:

        @task(pool=WAREHOUSE_POOL)
        def check_warehouse() -> dict:
            """Fail at once, saying what to run, if the warehouse is behind this deploy."""
            return warehouse_ready()

        @task
        def extract() -> str:
            """Fetch every payload into a new raw landing folder and return its path, or, for a
            backfill, return the stored landing of the release named in the conf."""
            from diaspora import pipeline
            from diaspora.errors import DiasporaError
            from diaspora.http_client import LimitExceeded

            try:  # a stored landing that is not there will not appear on a retry
                if _param("release"):
                    return pipeline.stored_landing(source_key, str(_param("release")))
                if _param("accept"):  # accept what the revision policy held back last
                    return pipeline.withheld_landing(source_key)
            except DiasporaError as exc:
                raise AirflowFailException(str(exc)) from exc
            try:
                return pipeline.extract(source_key)
            except LimitExceeded as exc:  # a source beyond a bound (bytes, pages, wait) stays beyond it
                raise AirflowFailException(str(exc)) from exc

        @task.short_circuit(pool=WAREHOUSE_POOL)
        def is_new_release(landing_dir: str) -> bool:
            """Skip the rest when byte-identical payloads were already loaded."""
            from diaspora import pipeline

            return pipeline.is_new_release(landing_dir, run=_run_context(), reload=bool(_param("reload")))

        @task
        def parse(landing_dir: str) -> dict:
            """A payload its parser cannot read (a changed layout, schema drift) is a property of
            the file: the task fails at once, without retries; the landing stays for a re-parse."""
            from diaspora import pipeline
            from diaspora.errors import ParseError
            from diaspora.landing import LandingRefused

            try:
                return pipeline.parse(landing_dir).as_dict()
            except (ParseError, LandingRefused) as exc:  # a landing refused will not change either
                raise AirflowFailException(str(exc)) from exc

        @task(pool=WAREHOUSE_POOL)
        def validate(landing_dir: str) -> dict:
            """Great Expectations suite and the revision policy; a failure loads nothing and is not
            retried; a new edition held for review skips the load (its alert says how to accept it)."""
            from diaspora import pipeline
            from diaspora.errors import ReleaseHeld, ValidationFailed

            accept = bool(_param("accept") or _param("accept_removals"))
            try:
                return pipeline.validate(
                    landing_dir, run=_run_context(), accept=accept, context=get_current_context()
                ).as_dict()
            except ValidationFailed as exc:
                raise AirflowFailException(str(exc)) from exc
            except ReleaseHeld as exc:
                raise AirflowSkipException(str(exc)) from exc

        @task(outlets=[asset], pool=WAREHOUSE_POOL)
        def load(landing_dir: str) -> dict:
            """Load into the warehouse in one transaction, counted back; emits the source's Asset.
            A count that differs is a defect, not a glitch: the task fails without retrying."""
            from diaspora import pipeline
            from diaspora.errors import LoadCountMismatch

            try:
                return pipeline.load(landing_dir, run=_run_context(), context=get_current_context()).as_dict()
            except LoadCountMismatch as exc:
                raise AirflowFailException(str(exc)) from exc

        @task
        def check_freshness(landing_dir: str) -> dict:
            """Warn (without failing) when the latest release is older than the source's cadence."""
            from diaspora import pipeline

            if _param("release") or _param("accept"):  # a stored landing says nothing about today
                return {"backfill": _param("release") or "accepted", "stale": None}
            return pipeline.check_freshness(landing_dir, context=get_current_context())

        landing_dir = extract()
        check_warehouse() >> landing_dir
        check_freshness(landing_dir)
        (is_new_release(landing_dir) >> parse(landing_dir) >> validate(landing_dir) >> load(landing_dir))
    return dag
