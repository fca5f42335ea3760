"""End to end: the worldbank_indicators DAG under dag.test(), against a real local HTTP server,
into a real DuckDB file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.dag_helpers import load_dag, states
from tests.support.sql import rows, scalar
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

pytestmark = pytest.mark.e2e


def test_dag_loads_then_identical_rerun_loads_nothing(airflow_db, httpserver, make_settings, warehouse_url):
    api = FakeWorldBank(
        values=synthetic_values(
            ["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS", "NY.GDP.MKTP.CD", "SM.POP.NETM"],
            range(2018, 2024),
        )
    )
    make_settings(worldbank_base_url=api.install(httpserver), warehouse_url=warehouse_url)
    dag = load_dag("worldbank_indicators")

    first = dag.test(logical_date=datetime(2026, 11, 2, tzinfo=UTC))
    assert str(first.state) == "success", states(first)
    assert states(first)["load"] == "success"
    facts = "SELECT count(*) FROM dw.fact_indicator_value"
    assert scalar(warehouse_url, facts) == 4 * 5 * 6
    remittances = rows(
        warehouse_url,
        "SELECT country_code, year, remittances_received_usd,"
        " remittances_received_pct_gdp, gdp_usd FROM reporting.remittances ORDER BY 1, 2",
    )
    assert len(remittances) == 5 * 6
    assert ("TJK", 2023, 43000003.0, 10.0, 43000003.0) in remittances  # synthetic payload values

    second = dag.test(logical_date=datetime(2026, 11, 9, tzinfo=UTC))
    assert str(second.state) == "success", states(second)
    assert states(second)["load"] == "skipped" and states(second)["is_new_release"] == "success"
    assert scalar(warehouse_url, facts) == 4 * 5 * 6
    assert (
        rows(
            warehouse_url,
            "SELECT country_code, year, remittances_received_usd,"
            " remittances_received_pct_gdp, gdp_usd FROM reporting.remittances ORDER BY 1, 2",
        )
        == remittances
    )
    runs = rows(warehouse_url, "SELECT dag_id, status FROM etl.load_run ORDER BY load_id")
    assert runs == [("worldbank_indicators", "success"), ("worldbank_indicators", "skipped")]


def test_dag_with_a_broken_payload_loads_nothing(airflow_db, httpserver, make_settings, tmp_path):
    values = synthetic_values(["BX.TRF.PWKR.CD.DT"], range(2020, 2024))
    values["BX.TRF.PWKR.CD.DT"][3]["countryiso3code"] = "tj"
    warehouse_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    make_settings(
        worldbank_base_url=FakeWorldBank(values=values).install(httpserver),
        warehouse_url=warehouse_url,
    )

    dag_run = load_dag("worldbank_indicators").test(logical_date=datetime(2026, 11, 16, tzinfo=UTC))

    assert str(dag_run.state) == "failed"
    assert states(dag_run)["validate"] == "failed" and states(dag_run)["load"] == "upstream_failed"
    validate_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "validate")
    assert validate_ti.try_number == 1  # a failed validation is not retried
    assert scalar(warehouse_url, "SELECT count(*) FROM dw.fact_indicator_value") == 0
    failed = rows(
        warehouse_url,
        "SELECT expectation_type, column_name, severity, sample_values FROM etl.validation_result"
        " WHERE NOT success ORDER BY expectation_type",
    )
    assert failed == [
        ("expect_column_values_to_be_in_set", "country_code", "warning", '[{"count": 1, "value": "tj"}]'),
        ("expect_column_values_to_match_regex", "country_code", "critical", '[{"count": 1, "value": "tj"}]'),
    ]
    assert rows(warehouse_url, "SELECT dag_id, status FROM etl.load_run") == [
        ("worldbank_indicators", "validation_failed")
    ]


def test_a_warehouse_behind_the_code_fails_the_first_task_once_saying_what_to_run(
    airflow_db, httpserver, make_settings, tmp_path, alert_webhook
):
    """No migration from DAG runs: on a warehouse nobody migrated, check_warehouse fails at once
    (no retry), says to run `diaspora migrate`, nothing else runs, and the alert carries that."""
    warehouse_url = f"duckdb:///{tmp_path / 'never-migrated.duckdb'}"
    make_settings(
        worldbank_base_url=FakeWorldBank(values=synthetic_values(["SP.POP.TOTL"], range(2020, 2024))).install(
            httpserver
        ),
        warehouse_url=warehouse_url,
        alert_webhook_url=alert_webhook.url,
    )

    dag_run = load_dag("worldbank_indicators", deploy=False).test(
        logical_date=datetime(2026, 11, 23, tzinfo=UTC)
    )

    assert str(dag_run.state) == "failed"
    assert states(dag_run)["check_warehouse"] == "failed" and states(dag_run)["extract"] == "upstream_failed"
    check = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "check_warehouse")
    assert check.try_number == 1
    (alert,) = alert_webhook.problems
    assert alert["task_id"] == "check_warehouse" and "WarehouseNotReady" in alert["what"]
    assert "lacks migration(s) 0001_core.sql" in alert["what"] and "Run `diaspora migrate`" in alert["what"]
