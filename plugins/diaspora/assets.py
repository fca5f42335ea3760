"""Assets the source DAGs emit when a load succeeds; the reporting DAG schedules on them."""

from __future__ import annotations

from functools import reduce

from airflow.sdk import Asset

from diaspora.sources import registry
from diaspora.sources.contract import Source


def source_asset(source_key: str, fact_table: str) -> Asset:
    """The Asset of one source's fact table (``x-`` scheme: ours, not a provider's)."""
    return Asset(name=source_key, uri=f"x-diaspora://warehouse/{fact_table}?source={source_key}")


def asset_of(source: Source) -> Asset:
    return source_asset(source.key, source.fact_table)


def any_source_loaded():  # noqa: ANN201 - an Airflow asset condition
    """A schedule that fires when any registered source has loaded new data."""
    return reduce(lambda either, asset: either | asset, (asset_of(s) for s in registry().values()))


SURVEY_RESPONSES = source_asset("survey_files", "dw.fact_survey_response")
