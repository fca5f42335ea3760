"""Airflow DAG ``unhcr_refugees``: UNHCR refugee population by origin, country of asylum and type.

Monthly pull of the UNHCR Refugee Population Statistics API, landed raw, validated with Great
Expectations and merged into ``dw.fact_refugee_population``.
"""

from diaspora.assets import UNHCR_REFUGEES
from diaspora.orchestration import build_source_dag

dag = build_source_dag(
    "unhcr_refugees",
    schedule="@monthly",
    asset=UNHCR_REFUGEES,
    tags=("unhcr", "refugees"),
    doc_md=__doc__,
)
