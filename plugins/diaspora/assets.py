"""Assets the source DAGs emit when a load succeeds; the reporting DAG schedules on them."""

from __future__ import annotations

from airflow.sdk import Asset


def source_asset(source_key: str, fact_table: str) -> Asset:
    """The Asset of one source's fact table (``x-`` scheme: ours, not a provider's)."""
    return Asset(name=source_key, uri=f"x-diaspora://warehouse/{fact_table}?source={source_key}")


WORLDBANK_INDICATORS = source_asset("worldbank_indicators", "dw.fact_indicator_value")
UNDESA_MIGRANT_STOCK = source_asset("undesa_migrant_stock", "dw.fact_migrant_stock")
UNHCR_REFUGEES = source_asset("unhcr_refugees", "dw.fact_refugee_population")
SURVEY_RESPONSES = source_asset("survey_files", "dw.fact_survey_response")
