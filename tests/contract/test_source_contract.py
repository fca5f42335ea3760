"""The contract test: every registered source, on real DuckDB and real PostgreSQL.

For each folder under ``plugins/diaspora/sources/``: its declaration is complete (docstring, key =
folder = DAG id, a suite, a health entry); its bundled offline sample lands and parses offline
into unique, non-null keys; its suite passes on the sample and fails on a broken copy (a repeated
key); its fact table loads and the rows counted back in the database equal the rows parsed; its
DAG emits its Asset. A new source passes this test or it is not done.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ValidationFailed
from diaspora.health import health_for
from diaspora.landing import Manifest
from diaspora.sources import registry
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.facts import grain_of
from tests.support import ROOT

SOURCES = sorted(registry())


def test_the_registry_is_every_source_folder():
    folders = sorted(
        p.name for p in (ROOT / "plugins" / "diaspora" / "sources").iterdir() if (p / "__init__.py").exists()
    )
    assert SOURCES == folders and SOURCES  # every folder declares a SOURCE


@pytest.mark.parametrize("key", SOURCES)
def test_the_declaration_is_complete(key):
    source = registry()[key]
    assert source.key == key and source.description.strip(), "a docstring: what, from whom, how often"
    assert source.publisher and source.dataset and source.licence and source.citation
    suite = json.loads(source.suite_path.read_text())
    assert suite["name"] == key and suite["expectations"]
    assert health_for(pipeline.get_settings().source_health_file, key).cadence_days > 0
    assert (ROOT / source.sample).exists(), f"{key}: no bundled sample at {source.sample}"
    grain = grain_of(source.fact_table)
    assert grain.value == source.value_column


@pytest.mark.parametrize("key", SOURCES)
def test_the_sample_parses_validates_and_loads_counted(key, make_settings, warehouse_url):
    source = registry()[key]
    settings = make_settings(
        warehouse_url=warehouse_url, **{source.sample_setting: f"file://{ROOT / source.sample}"}
    )
    pipeline.prepare_warehouse(settings)
    landing = pipeline.extract(key, settings)
    parsed_rows = pipeline.parse(landing, settings).rows
    manifest = Manifest.read(landing)
    fact_path = settings.parsed_dir / key / manifest.landing_id / f"{source.fact_table}.parquet"
    frame = pq.read_table(fact_path).to_pandas()
    keys = list(grain_of(source.fact_table).keys)
    assert parsed_rows == len(frame) > 0
    assert not frame[keys].isna().any().any() and not frame.duplicated(keys).any()

    # A broken copy (one key repeated) fails the suite and loads nothing.
    frame.iloc[[0, *range(len(frame))]].to_parquet(fact_path, index=False)
    with pytest.raises(ValidationFailed, match="expect_compound_columns_to_be_unique"):
        pipeline.validate(landing, settings)
    frame.to_parquet(fact_path, index=False)

    pipeline.validate(landing, settings)
    loaded = pipeline.load(landing, settings)
    with get_engine(warehouse_url).connect() as conn:
        counted = conn.execute(sa.text(f"SELECT count(*) FROM {source.fact_table}")).scalar_one()
        audited = conn.execute(
            sa.text("SELECT rows_loaded FROM etl.load_run WHERE source = :s AND status = 'success'"),
            {"s": key},
        ).scalar_one()
    assert loaded.rows == counted == audited == len(frame)


@pytest.mark.airflow
def test_each_source_dag_is_its_key_and_emits_its_asset():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "sources.py"))
    assert bag.import_errors == {} and sorted(bag.dags) == SOURCES
    for key in SOURCES:
        (asset,) = bag.dags[key].get_task("load").outlets
        assert asset.name == key and asset.uri.endswith(f"{registry()[key].fact_table}?source={key}")
