"""The BI layer: every reporting column documented (database comments and data dictionary),
and a PostgreSQL role that reads `reporting` and nothing else."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ConfigError
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


@pytest.mark.postgres
def test_bi_role_gets_no_temp_tables_no_functions_and_bounded_queries(postgres_url, make_settings):
    """What PUBLIC gives every role by default is taken back, and a runaway query is cancelled."""
    role = f"diaspora_bi_test_{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    with get_engine(postgres_url).begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION public.before_deploy() RETURNS int AS 'SELECT 1' LANGUAGE sql"
        )
    settings = make_settings(
        warehouse_url=postgres_url,
        bi_role=role,
        bi_password=password,
        bi_statement_timeout=1,
        bi_connection_limit=3,
    )
    pipeline.prepare_warehouse(settings)
    with get_engine(postgres_url).begin() as conn:  # created after the deploy, by the warehouse's user
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION public.after_deploy() RETURNS int AS 'SELECT 2' LANGUAGE sql"
        )
        limit = conn.execute(
            sa.text("SELECT rolconnlimit FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).scalar()
    assert limit == 3
    dsn = sa.make_url(postgres_url).set(drivername="postgresql", username=role, password=password)
    try:
        with psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True) as bi:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute("CREATE TEMP TABLE scratch (a int)")
            for function in ("before_deploy", "after_deploy"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    bi.execute(f"SELECT public.{function}()")
            with pytest.raises(psycopg.errors.QueryCanceled):
                bi.execute("SELECT pg_sleep(5)")
            assert bi.execute("SELECT count(*) FROM reporting.areas").fetchone()[0] > 0  # reading still works
    finally:
        with get_engine(postgres_url).begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS public.before_deploy(), public.after_deploy()")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.postgres
def test_the_deploy_runs_the_pipeline_as_an_owner_that_is_no_superuser(postgres_url, make_settings):
    """DIASPORA_WAREHOUSE_ADMIN_URL (the superuser) creates the owner role of DIASPORA_WAREHOUSE_URL;
    the load then runs as that owner, which cannot reach the server's shell."""
    owner, password = f"diaspora_owner_{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
    owner_url = (
        sa.make_url(postgres_url).set(username=owner, password=password).render_as_string(hide_password=False)
    )
    settings = make_settings(
        warehouse_url=owner_url,
        warehouse_admin_url=postgres_url,
        worldbank_base_url=sample_url("worldbank_indicators"),
    )
    try:
        pipeline.prepare_warehouse(settings)
        pipeline.prepare_warehouse(settings)  # every deploy runs it again
        result = pipeline.run_source("worldbank_indicators", settings)
        assert result["load"]["rows"] > 0
        with get_engine(owner_url).connect() as conn:
            flags = conn.exec_driver_sql(
                "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).one()
            assert tuple(flags) == (False, False, False)
            assert conn.exec_driver_sql("SELECT count(*) FROM reporting.remittances").scalar() > 0
            with pytest.raises(
                sa.exc.ProgrammingError, match="InsufficientPrivilege|permission denied|must be superuser"
            ):
                conn.exec_driver_sql("COPY (SELECT 1) TO PROGRAM 'true'")
        same = make_settings(warehouse_url=postgres_url, warehouse_admin_url=postgres_url)
        with pytest.raises(ConfigError, match="connects as the superuser"):
            pipeline.prepare_warehouse(same)
    finally:
        get_engine(owner_url).dispose()
        with get_engine(postgres_url).begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {owner}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {owner}")
