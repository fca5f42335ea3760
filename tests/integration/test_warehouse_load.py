"""The bulk loader on real DuckDB and PostgreSQL: large loads land whole, every write is counted
back, and a count that differs rolls the release back and alerts. Frames here are SYNTHETIC."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import LoadCountMismatch
from diaspora.warehouse import load as warehouse_load
from diaspora.warehouse import schema
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.schema import migrate
from tests.support.dag_helpers import load_dag, states
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

ROWS = 300_000  # more than two DuckDB row groups of 122,880


def stock_frame(rows: int, release_id: int, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC fact_migrant_stock rows of one release, with unique keys."""
    position = np.arange(rows)
    return pd.DataFrame(
        {
            "origin_code": [f"O{i:04d}" for i in position // 2000],
            "destination_code": [f"D{i:03d}" for i in (position // 8) % 250],
            "year": 1990 + position % 8,
            "sex": "both",
            "release_id": release_id,
            "migrants": (position * 7 + seed) % 10_000 * 1.0,
            "data_type": "B",
            "coverage": None,
            "quality_flags": None,
        }
    )


def count(url: str, sql: str, **params) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_300k_rows_in_one_transaction_land_whole(warehouse_url):
    engine = get_engine(warehouse_url)
    migrate(engine)
    facts = stock_frame(ROWS, release_id=41)
    areas = pd.DataFrame(
        {
            "country_code": [f"T{i:06d}" for i in range(ROWS)],
            "area_type": "unmapped",
            "name": "synthetic",
            "is_aggregate": False,
        }
    )
    with engine.begin() as conn:
        fact_count = warehouse_load.replace_release_rows(conn, "dw.fact_migrant_stock", facts, release_id=41)
        area_count = warehouse_load.merge(conn, "dw.dim_country", areas)

    assert (fact_count.prepared, fact_count.landed) == (ROWS, ROWS)
    assert (area_count.prepared, area_count.landed) == (ROWS, ROWS)
    # Read back on a new connection, after the commit: what a BI user would see.
    assert count(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock WHERE release_id = 41") == ROWS
    assert count(warehouse_url, "SELECT count(*) FROM dw.dim_country WHERE name = 'synthetic'") == ROWS
    assert count(warehouse_url, "SELECT sum(migrants) FROM dw.fact_migrant_stock") == facts["migrants"].sum()
    assert (
        count(warehouse_url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging'")
        == 0
    )


def test_reloading_a_release_replaces_its_rows_and_keeps_other_releases(warehouse_url):
    engine = get_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        warehouse_load.replace_release_rows(conn, "dw.fact_migrant_stock", stock_frame(1000, 1), release_id=1)
        warehouse_load.replace_release_rows(conn, "dw.fact_migrant_stock", stock_frame(500, 2), release_id=2)
    with engine.begin() as conn:
        again = warehouse_load.replace_release_rows(
            conn, "dw.fact_migrant_stock", stock_frame(800, 1, seed=3), release_id=1
        )

    assert again.landed == 800
    assert count(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock WHERE release_id = 1") == 800
    assert count(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock WHERE release_id = 2") == 500
    assert count(warehouse_url, "SELECT min(migrants) FROM dw.fact_migrant_stock WHERE release_id = 1") == 3.0


def test_rows_of_another_release_are_refused(warehouse_url):
    engine = get_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="must all carry release_id 2"):
        warehouse_load.replace_release_rows(conn, "dw.fact_migrant_stock", stock_frame(10, 1), release_id=2)


def test_duckdb_2_0_0_loses_rows_copied_from_a_ctas_table(tmp_path):
    """Why staging tables get explicit column DDL (load.create_table_like): inside a transaction, a
    table made by CREATE TABLE … AS SELECT and filled with ≥ 122,880 rows gives nothing to a later
    INSERT … SELECT. If this test fails, DuckDB fixed it and the warning comment can go."""
    frame = pd.DataFrame({"a": np.arange(122_880), "b": 1.0})
    con = duckdb.connect(str(tmp_path / "bug.duckdb"))
    con.execute("CREATE TABLE t (a BIGINT, b DOUBLE)")
    con.execute("BEGIN")
    con.execute("CREATE TABLE s AS SELECT a, b FROM t WHERE 1 = 0")
    con.register("frame", frame)
    con.execute("INSERT INTO s SELECT * FROM frame")
    con.execute("INSERT INTO t SELECT * FROM s")
    con.execute("COMMIT")
    lost = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    assert lost == 0


def test_a_count_that_differs_fails_and_leaves_nothing_half_loaded(
    httpserver, make_settings, tmp_path, monkeypatch, fake_worldbank
):
    """DuckDB: a bulk insert that silently drops rows (as DuckDB 2.0.0 did) is caught by the count."""
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    settings = make_settings(worldbank_base_url=fake_worldbank.install(httpserver), warehouse_url=url)
    pipeline.prepare_warehouse(settings)
    landing_dir = pipeline.extract("worldbank_indicators", settings)
    pipeline.parse(landing_dir, settings)
    pipeline.validate(landing_dir, settings)
    dims_before = count(url, "SELECT count(*) FROM dw.dim_country WHERE wb_region IS NOT NULL")
    real_insert = warehouse_load.bulk_insert

    def lose_half(conn, table, frame):
        kept = frame.iloc[: len(frame) // 2] if table.startswith("dw.fact") else frame
        real_insert(conn, table, kept)
        return len(frame)  # claims every row, like the engine did

    monkeypatch.setattr(warehouse_load, "bulk_insert", lose_half)

    with pytest.raises(
        LoadCountMismatch, match=r"dw\.fact_indicator_value: 405 rows were prepared .* but 202"
    ):
        pipeline.load(landing_dir, settings)

    assert count(url, "SELECT count(*) FROM dw.fact_indicator_value") == 0
    assert count(url, "SELECT count(*) FROM dw.dim_source_release") == 0
    assert count(url, "SELECT count(*) FROM dw.dim_country WHERE wb_region IS NOT NULL") == dims_before
    with get_engine(url).connect() as conn:
        status, rows_loaded, message = conn.execute(
            sa.text("SELECT status, rows_loaded, message FROM etl.load_run")
        ).one()
    assert (status, rows_loaded) == ("failed", 0) and "LoadCountMismatch" in message and "202" in message


@pytest.mark.e2e
@pytest.mark.postgres
def test_a_database_that_drops_rows_fails_the_load_task_once_and_alerts(
    airflow_db, httpserver, make_settings, postgres_url, alert_webhook
):
    """PostgreSQL: a trigger silently discards rows (COPY reports success). The load task fails on
    its first try without retrying, the alert names the table and both counts, nothing loads."""
    values = synthetic_values(["SP.POP.TOTL", "NY.GDP.MKTP.CD"], range(2018, 2024))
    settings = make_settings(
        worldbank_base_url=FakeWorldBank(values=values).install(httpserver),
        warehouse_url=postgres_url,
        alert_webhook_url=alert_webhook.url,
    )
    pipeline.prepare_warehouse(settings)
    with get_engine(postgres_url).begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION staging.discard_odd_years() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN IF mod(NEW.year, 2) = 1 THEN RETURN NULL; END IF; RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER discard_odd_years BEFORE INSERT ON dw.fact_indicator_value"
            " FOR EACH ROW EXECUTE FUNCTION staging.discard_odd_years()"
        )

    dag_run = load_dag("worldbank_indicators").test(logical_date=datetime(2026, 11, 22, tzinfo=UTC))

    assert str(dag_run.state) == "failed" and states(dag_run)["load"] == "failed", states(dag_run)
    load_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "load")
    assert load_ti.try_number == 1  # a count that differs is a defect: no retry
    (alert,) = [a for a in alert_webhook.problems if a["kind"] != "staleness"]  # the test release is old
    assert alert["kind"] == "failure" and alert["task_id"] == "load"
    assert "LoadCountMismatch: dw.fact_indicator_value: 60 rows were prepared" in alert["what"]
    assert "but 30 are in the table" in alert["what"] and "nothing was loaded" in alert["held_back"]
    assert count(postgres_url, "SELECT count(*) FROM dw.fact_indicator_value") == 0
    assert count(postgres_url, "SELECT count(*) FROM dw.dim_source_release") == 0
    assert count(postgres_url, "SELECT count(*) FROM etl.load_run WHERE status = 'failed'") == 1


def test_a_warehouse_from_before_0008_keeps_its_facts(warehouse_url, tmp_path, monkeypatch):
    from diaspora.warehouse import bi_catalog

    current = schema.SQL_DIR
    before = tmp_path / "sql"
    shutil.copytree(current, before)
    for path in (before / "migrations").glob("*.sql"):
        if path.name >= "0008":
            path.unlink()
    for view in (before / "views").glob("*.sql"):  # today's views and comments need today's columns
        view.unlink()
    monkeypatch.setattr(schema, "SQL_DIR", before)
    monkeypatch.setattr(bi_catalog, "apply_comments", lambda conn: 0)
    engine = get_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO dw.fact_indicator_value VALUES ('TJK', 'SP.POP.TOTL', 2023, 1, 10389808, NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO dw.fact_migrant_stock VALUES ('TJK', 'RUS', 2024, 'both', 1, 415676, 'B', NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO dw.fact_refugee_population VALUES ('TJK', 'UNHCR:ALL', 2024, 'refugees', 1, 4045)"
        )
    monkeypatch.undo()

    applied = migrate(engine)

    assert applied[0] == "0008_facts_by_release_flags_and_counts.sql"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value, quality_flags FROM dw.fact_indicator_value").one() == (
            10389808.0,
            None,
        )
        assert conn.exec_driver_sql("SELECT migrants FROM dw.fact_migrant_stock").scalar_one() == 415676.0
        assert conn.exec_driver_sql("SELECT persons FROM dw.fact_refugee_population").scalar_one() == 4045.0
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM reporting.migrant_stock").scalar_one() == 0
        )  # no release
