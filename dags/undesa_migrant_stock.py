"""Airflow DAG ``undesa_migrant_stock``: UN DESA International Migrant Stock by origin, destination, sex.

Monthly check of the workbook (it changes about once a year: an unchanged file loads nothing),
landed raw, validated with Great Expectations and merged into ``dw.fact_migrant_stock``.
"""

from diaspora.assets import UNDESA_MIGRANT_STOCK
from diaspora.orchestration import build_source_dag

dag = build_source_dag(
    "undesa_migrant_stock",
    schedule="@monthly",
    asset=UNDESA_MIGRANT_STOCK,
    tags=("undesa", "migration"),
    doc_md=__doc__,
)
