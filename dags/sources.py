"""Airflow DAGs of every registered source: one DAG per folder under plugins/diaspora/sources/.

Each DAG's id is the source's key (worldbank_indicators, undesa_migrant_stock, unhcr_refugees,
…), its schedule, tags and documentation come from the source's contract, and its tasks are the
shared steps: check_warehouse → extract → is_new_release → parse → validate → load (emits the
source's Asset), with check_freshness beside is_new_release. A new source needs no DAG file.
"""

from diaspora.orchestration import build_source_dag
from diaspora.sources import registry

for _source in registry().values():
    globals()[_source.key] = build_source_dag(_source)
