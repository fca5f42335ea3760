"""Failure callbacks. With no alert target configured, the alert goes to the task log, marked."""

from __future__ import annotations

import logging

log = logging.getLogger("diaspora.alerts")

ALERT_MARK = "DIASPORA ALERT"


def describe_failure(context: dict) -> str:
    """What broke, where, and what was held back, from an Airflow callback context."""
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", "?")
    kind = type(exception).__name__ if exception else "failure"
    return (
        f"{ALERT_MARK}: DAG {dag_id}, task {task_id}, run {run_id} failed ({kind}). "
        f"Nothing from this run was loaded.\n{exception or 'see the task log'}"
    )


def log_failure(context: dict) -> None:
    """Task/DAG ``on_failure_callback``: write a clearly marked alert to the log."""
    log.error(describe_failure(context))
