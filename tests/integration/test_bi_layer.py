"""The BI layer: every reporting column documented (database comments and data dictionary),
and a PostgreSQL role that reads `reporting` and nothing else."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date

import duckdb
import psycopg
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ConfigError
from diaspora.warehouse.bi_catalog import data_dictionary, reporting_columns, reporting_docs, undocumented
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.mart import view_definition
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


def _yearly_views() -> list[str]:
    return [view for view, doc in reporting_docs().items() if "year" in doc["columns"]]


@pytest.fixture
def bi_role(make_settings, warehouse_url):
    """Settings whose deploy grants a throwaway BI role on PostgreSQL (dropped afterwards); DuckDB
    has no roles. The warehouse is migrated and holds the bundled World Bank sample."""
    role, password = f"diaspora_bi_test_{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
    postgres = sa.make_url(warehouse_url).get_backend_name() == "postgresql"
    extra = {"bi_role": role, "bi_password": password} if postgres else {}
    settings = make_settings(
        warehouse_url=warehouse_url, worldbank_base_url=sample_url("worldbank_indicators"), **extra
    )
    pipeline.prepare_warehouse(settings)
    pipeline.run_source("worldbank_indicators", settings)
    bi_url = sa.make_url(warehouse_url).set(username=role, password=password) if postgres else None
    yield settings, bi_url
    if postgres:
        with get_engine(warehouse_url).begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


def _catalog_as_an_inspector_reads_it(engine: sa.Engine) -> dict[str, tuple[str | None, list[dict]]]:
    """view → (description, columns with name, type and comment), as Superset reads a database."""
    inspector = sa.inspect(engine)
    return {
        view: (
            inspector.get_table_comment(view, schema="reporting")["text"],
            inspector.get_columns(view, schema="reporting"),
        )
        for view in inspector.get_view_names(schema="reporting")
    }


def _catalog_from_duckdb(rows: Callable[[str], list]) -> dict[str, tuple[str | None, list[dict]]]:
    """The same as :func:`_catalog_as_an_inspector_reads_it`, from DuckDB's own catalog functions
    (``rows`` runs a query): the warehouse's views, or the tables of the published copy."""
    relations = (
        "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'reporting'"
        " UNION ALL SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'reporting'"
    )
    catalog = {name: (comment, []) for name, comment in rows(relations)}
    columns = rows(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns()"
        " WHERE schema_name = 'reporting' ORDER BY table_name, column_index"
    )
    types = {"DATE": sa.types.Date(), "INTEGER": sa.types.Integer()}
    for name, column, data_type, comment in columns:
        catalog[name][1].append(
            {"name": column, "type": types.get(data_type, sa.types.NullType()), "comment": comment}
        )
    return catalog


def _year_dates(rows: Callable[[str], list]) -> list[tuple]:
    return rows("SELECT year, year_date FROM reporting.remittances")


def test_bi_tools_see_a_time_column_and_every_description(bi_role, warehouse_url):
    """What a BI tool reads of ``reporting`` through SQLAlchemy's inspector (Apache Superset:
    get_view_names, then get_columns and get_table_comment per view), connected as the BI role:
    every view with a year has it as a DATE too (year_date, right after the integer year), every
    view has its description and every column its comment, as sql/reporting_docs.yml writes them.

    On DuckDB the inspector itself is broken (duckdb-engine 0.17 with SQLAlchemy 2.1 fails on
    pg_collation), so there the same is read from duckdb_views(), duckdb_tables() and
    duckdb_columns(): of the warehouse's views, and of the published copy BI tools open read-only
    (its tables)."""
    settings, bi_url = bi_role
    docs = reporting_docs()
    catalogs, dated = [], []
    if bi_url is not None:
        engine = sa.create_engine(bi_url)
        try:
            catalogs.append(_catalog_as_an_inspector_reads_it(engine))
            with engine.connect() as conn:
                dated += _year_dates(lambda sql: conn.exec_driver_sql(sql).all())
        finally:
            engine.dispose()
    else:
        with get_engine(warehouse_url).connect() as conn:
            catalogs.append(_catalog_from_duckdb(lambda sql: conn.exec_driver_sql(sql).all()))
            dated += _year_dates(lambda sql: conn.exec_driver_sql(sql).all())
        with duckdb.connect(str(settings.reporting_copy_path), read_only=True) as copy:
            catalogs.append(_catalog_from_duckdb(lambda sql: copy.execute(sql).fetchall()))
            dated += _year_dates(lambda sql: copy.execute(sql).fetchall())
    for catalog in catalogs:
        assert sorted(catalog) == sorted(docs)
        yearly = []
        for view, (description, columns) in catalog.items():
            assert description == docs[view]["description"], view
            names = [c["name"] for c in columns]
            documented = {name: docs[view]["columns"].get(name) for name in names}
            assert {c["name"]: c["comment"] for c in columns} == documented, view
            if "year" in names:
                yearly.append(view)
                year, year_date = columns[names.index("year")], columns[names.index("year") + 1]
                assert isinstance(year["type"], sa.types.Integer), view  # the year stays the integer
                assert year_date["name"] == "year_date", view
                assert isinstance(year_date["type"], sa.types.Date), view
        assert sorted(yearly) == sorted(_yearly_views())
        assert len(yearly) >= 17  # every yearly view, the vintages and the estimates among them
    assert len(dated) > 0
    assert all(year_date == date(year, 1, 1) for year, year_date in dated)


def test_an_upgraded_warehouse_gets_the_time_column(bi_role, warehouse_url):
    """A warehouse migrated before the yearly views carried year_date takes it on its next deploy:
    PostgreSQL's CREATE OR REPLACE VIEW may only append columns, so migration 0021 drops them first;
    the deploy grants the BI role its SELECT on them again."""
    settings, bi_url = bi_role
    with get_engine(warehouse_url).begin() as conn:  # as the views were before year_date
        for view in _yearly_views():
            before = re.sub(
                r"make_date\((?:v\.)?year, 1, 1\) AS year_date,\s*", "", view_definition(f"reporting.{view}")
            )
            conn.exec_driver_sql(f"DROP VIEW reporting.{view}")
            conn.exec_driver_sql(f"CREATE VIEW reporting.{view} AS {before}")
        conn.exec_driver_sql("DELETE FROM etl.schema_migration WHERE version = '0021'")
        assert "year_date" not in reporting_columns(conn)["remittances"]
    assert pipeline.prepare_warehouse(settings) == ["0021_reporting_year_dates.sql"]
    with get_engine(warehouse_url).connect() as conn:
        columns = reporting_columns(conn)
        assert undocumented(conn) == []
    for view in _yearly_views():
        assert columns[view][columns[view].index("year") + 1] == "year_date", view
    if bi_url is not None:
        engine = sa.create_engine(bi_url)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(year_date) FROM reporting.remittances").scalar() > 0
        finally:
            engine.dispose()
