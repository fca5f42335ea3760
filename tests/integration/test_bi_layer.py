"""The BI layer: every reporting column documented (database comments and data dictionary),
and a PostgreSQL role that reads `reporting` and nothing else."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.warehouse.bi_catalog import data_dictionary, reporting_docs, undocumented
from diaspora.warehouse.engine import get_engine
from tests.support import ROOT, sample_url


def test_every_reporting_column_is_documented(warehouse_url, make_settings):
    pipeline.prepare_warehouse(make_settings(warehouse_url=warehouse_url))
    with get_engine(warehouse_url).connect() as conn:
        assert undocumented(conn) == []
        if conn.dialect.name == "postgresql":
            comment = conn.execute(
                sa.text(
                    "SELECT col_description('reporting.remittances'::regclass, a.attnum) FROM pg_attribute a"
                    " WHERE a.attrelid = 'reporting.remittances'::regclass AND a.attname = 'gdp_usd'"
                )
            ).scalar_one()
        else:
            comment = conn.execute(
                sa.text(
                    "SELECT comment FROM duckdb_columns() WHERE schema_name = 'reporting'"
                    " AND table_name = 'remittances' AND column_name = 'gdp_usd'"
                )
            ).scalar_one()
    assert comment == reporting_docs()["remittances"]["columns"]["gdp_usd"]


def test_a_column_without_description_is_reported(warehouse_url, make_settings):
    pipeline.prepare_warehouse(make_settings(warehouse_url=warehouse_url))
    with get_engine(warehouse_url).begin() as conn:
        conn.exec_driver_sql("CREATE VIEW reporting.undocumented_view AS SELECT 1 AS x")
        assert undocumented(conn) == ["undocumented_view"]


def test_the_committed_data_dictionary_is_current():
    assert (ROOT / "docs" / "data_dictionary.md").read_text() == data_dictionary()


@pytest.mark.postgres
def test_bi_role_reads_reporting_and_nothing_else(postgres_url, make_settings):
    role = f"diaspora_bi_test_{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    settings = make_settings(
        warehouse_url=postgres_url,
        bi_role=role,
        bi_password=password,
        worldbank_base_url=sample_url("worldbank_indicators"),
    )
    pipeline.run_source("worldbank_indicators", settings)
    bi_url = sa.make_url(postgres_url).set(username=role, password=password)
    dsn = bi_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True) as bi:
            rows = bi.execute(
                "SELECT count(*) FROM reporting.remittances WHERE country_code = 'TJK'"
            ).fetchone()
            assert rows[0] == 9
            for view in (
                "indicator_values",
                "diaspora_profile",
                "refugee_population",
                "areas",
                "country_groups",
            ):
                bi.execute(f"SELECT * FROM reporting.{view} LIMIT 1").fetchall()  # every kind of view reads
            for forbidden in (
                "SELECT * FROM dw.fact_indicator_value",
                "SELECT * FROM etl.load_run",
                "SELECT * FROM dw.dim_source_release",
                "SELECT * FROM mart.remittances",  # the layer behind the views: through them only
                "SELECT * FROM mart.current_indicator_value",
                "CREATE TABLE staging.x (a int)",
                "CREATE TABLE reporting.x (a int)",
                "DELETE FROM etl.load_run",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    bi.execute(forbidden)
            with pytest.raises(
                (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState)
            ):
                bi.execute("INSERT INTO reporting.remittances (country_code) VALUES ('XXX')")
    finally:
        with get_engine(postgres_url).begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
