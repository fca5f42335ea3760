"""Airflow DAG ``diaspora_reporting``: the diaspora factsheets, after any source loads new data.

Scheduled on the Assets the source DAGs emit (not on a clock): renders, for each configured
country (DIASPORA_FACTSHEET_COUNTRIES, or ``all``), a static HTML profile with its A4 PDF and the
same figures as JSON and CSV, and an index page, under <DIASPORA_DATA_DIR>/factsheets/.
"""

from airflow.sdk import DAG, task

from diaspora.assets import any_source_loaded
from diaspora.orchestration import WAREHOUSE_POOL, dag_settings

with DAG(
    dag_id="diaspora_reporting",
    schedule=any_source_loaded(),
    **dag_settings(__doc__, ("reporting",)),
):

    @task(pool=WAREHOUSE_POOL)
    def render_factsheets() -> dict:
        """One factsheet (HTML, PDF, JSON, CSV) per configured country and an index page, read
        from the reporting views."""
        from diaspora.factsheet import render_all
        from diaspora.settings import get_settings

        return render_all(get_settings())

    render_factsheets()
