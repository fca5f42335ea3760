"""Airflow DAG ``survey_files``: survey files dropped in the inbox, one mapped task per file.

Every 15 minutes, each waiting file (DIASPORA_SURVEY_INBOX) is matched to its survey definition,
read, checked, stripped of personal data, staged and published in one transaction — or
quarantined with a report. One bad file never blocks the others; quarantined files raise one
alert per run.
"""

from airflow.sdk import DAG, get_current_context, task

from diaspora.assets import SURVEY_RESPONSES
from diaspora.orchestration import WAREHOUSE_POOL, dag_settings, warehouse_ready

with DAG(dag_id="survey_files", schedule="*/15 * * * *", **dag_settings(__doc__, ("surveys",))):

    @task(pool=WAREHOUSE_POOL)
    def check_warehouse() -> dict:
        """Fail at once, saying what to run, if the warehouse is behind this deploy."""
        return warehouse_ready()

    @task(pool=WAREHOUSE_POOL)
    def pending_files() -> list[str]:
        from diaspora.settings import get_settings
        from diaspora.surveys.process import pending_files

        return pending_files(get_settings())

    @task(pool=WAREHOUSE_POOL)
    def process_file(path: str) -> dict:
        """Load or quarantine one file. Fails only when the warehouse or the configuration does;
        the file then waits in the inbox for the retry. Other files go on either way."""
        from diaspora.settings import get_settings
        from diaspora.surveys.process import process_file

        return process_file(path, get_settings())

    @task(outlets=[SURVEY_RESPONSES], trigger_rule="all_done")
    def report(results: list[dict]) -> dict:
        """Count what happened and alert once for every quarantined file of the run (also when
        a file's task failed: that failure has alerted on its own)."""
        from diaspora.surveys.process import report_quarantined

        results = [r for r in results[:] if r]  # one slice: iterating asks past the end and logs an error
        alerted = report_quarantined(results, get_current_context())
        return {
            status: sum(r["status"] == status for r in results)
            for status in ("loaded", "duplicate", "quarantined", "waiting")
        } | {"alerted": alerted}

    files = pending_files()
    check_warehouse() >> files
    report(process_file.expand(path=files))
