"""Airflow DAG ``worldbank_indicators``: World Bank remittance, GDP, population and migration data.

Weekly pull of every configured indicator (config/worldbank_indicators.yml) for all countries,
landed raw, validated with Great Expectations and merged into ``dw.fact_indicator_value``.
"""

from diaspora.assets import WORLDBANK_INDICATORS
from diaspora.orchestration import build_source_dag

dag = build_source_dag(
    "worldbank_indicators",
    schedule="@weekly",
    asset=WORLDBANK_INDICATORS,
    tags=("worldbank",),
    doc_md=__doc__,
)
