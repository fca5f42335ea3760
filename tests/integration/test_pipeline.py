"""Landing → parse → validate → load on real DuckDB and real PostgreSQL, with a local HTTP API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ValidationFailed
from diaspora.warehouse import load as warehouse_load
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.schema import migrate
from tests.conftest import INDICATORS
from tests.support import ROOT
from tests.support.sql import rows, scalar
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

COUNT_TABLES = (
    "dw.dim_country",
    "dw.dim_indicator",
    "dw.dim_source_release",
    "dw.fact_indicator_value",
)


def counts(url: str) -> dict[str, int]:
    return {t: scalar(url, f"SELECT count(*) FROM {t}") for t in COUNT_TABLES}


def run(settings) -> dict:
    return pipeline.run_source("worldbank_indicators", settings)


@pytest.fixture
def settings_for(httpserver, make_settings, warehouse_url):
    def build(api: FakeWorldBank, **overrides):
        httpserver.clear_all_handlers()  # a new release replaces the previous one
        return make_settings(
            worldbank_base_url=api.install(httpserver),
            warehouse_url=warehouse_url,
            worldbank_per_page=25,
            **overrides,
        )

    return build


def test_migrate_is_idempotent(warehouse_url):
    engine = get_engine(warehouse_url)
    other = "duckdb" if engine.dialect.name == "postgresql" else "postgresql"
    expected = sorted(
        p.name for p in (ROOT / "sql" / "migrations").glob("*.sql") if not p.name.endswith(f".{other}.sql")
    )
    assert migrate(engine) == expected
    assert ("0009_fact_release_indexes.postgresql.sql" in expected) == (engine.dialect.name == "postgresql")
    assert migrate(engine) == []
    assert rows(warehouse_url, "SELECT count(*), min(year), max(year) FROM dw.dim_year") == [
        (151, 1950, 2100)
    ]


def test_load_then_identical_rerun_changes_nothing(settings_for, fake_worldbank, warehouse_url):
    settings = settings_for(fake_worldbank)
    first = run(settings)
    assert not first["skipped"]
    loaded = counts(warehouse_url)
    assert loaded["dw.fact_indicator_value"] == len(INDICATORS) * 5 * 9
    snapshot = rows(warehouse_url, "SELECT * FROM dw.fact_indicator_value ORDER BY 1, 2, 3, 4")

    second = run(settings)  # byte-identical payloads: detected, nothing loaded
    assert second["skipped"]
    pipeline.load(first["landing_dir"], settings)  # forcing the same load again is harmless
    assert counts(warehouse_url) == loaded
    assert rows(warehouse_url, "SELECT * FROM dw.fact_indicator_value ORDER BY 1, 2, 3, 4") == snapshot
    statuses = rows(warehouse_url, "SELECT status FROM etl.load_run ORDER BY load_id")
    assert statuses == [("success",), ("skipped",), ("success",)]


def test_reporting_view_has_latest_release_nulls_and_flags(settings_for, warehouse_url):
    values = synthetic_values(
        ["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS", "NY.GDP.MKTP.CD"], range(2020, 2024)
    )
    run(settings_for(FakeWorldBank(values=values, lastupdated="2025-07-01")))
    # A later release revises one value.
    revised = synthetic_values(
        ["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS", "NY.GDP.MKTP.CD"], range(2020, 2024)
    )
    for row in revised["BX.TRF.PWKR.CD.DT"]:
        if row["countryiso3code"] == "TJK" and row["date"] == "2023":
            row["value"] = 4633754222
    run(settings_for(FakeWorldBank(values=revised, lastupdated="2025-12-16")))

    tjk = rows(
        warehouse_url,
        "SELECT remittances_received_usd, release_label, licence FROM reporting.remittances"
        " WHERE country_code = 'TJK' AND year = 2023",
    )
    assert tjk == [(4633754222.0, "2025-12-16", "CC BY 4.0")]
    # The earlier release still answers "what did release 2025-07-01 say".
    old = rows(
        warehouse_url,
        "SELECT f.value FROM dw.fact_indicator_value f JOIN dw.dim_source_release r"
        " USING (release_id) WHERE r.release_label = '2025-07-01' AND f.country_code = 'TJK'"
        " AND f.year = 2023 AND f.indicator_code = 'BX.TRF.PWKR.CD.DT'",
    )
    assert old[0][0] != 4633754222.0
    kgz = rows(
        warehouse_url,
        "SELECT remittances_received_usd FROM reporting.remittances"
        " WHERE country_code = 'KGZ' AND year = 2023",
    )
    assert kgz == [(None,)]  # not available stays NULL
    flags = dict(rows(warehouse_url, "SELECT DISTINCT country_code, is_aggregate FROM reporting.remittances"))
    assert flags["WLD"] is True and flags["TJK"] is False


def test_failure_mid_load_leaves_the_warehouse_as_it_was(
    settings_for, fake_worldbank, warehouse_url, monkeypatch
):
    settings = settings_for(fake_worldbank)
    pipeline.prepare_warehouse(settings)
    landing_dir = pipeline.extract("worldbank_indicators", settings)
    pipeline.parse(landing_dir, settings)
    before = counts(warehouse_url)  # reference countries and areas only
    assert before["dw.fact_indicator_value"] == 0 and before["dw.dim_country"] > 250
    original_replace = warehouse_load.replace_release_rows

    def replace_then_break(conn, table, frame, release_id):
        original_replace(conn, table, frame, release_id)
        raise RuntimeError("disk full (simulated after the fact rows were written)")

    monkeypatch.setattr(pipeline, "replace_release_rows", replace_then_break)
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.load(landing_dir, settings)

    assert counts(warehouse_url) == before
    failed = rows(warehouse_url, "SELECT status, message FROM etl.load_run")
    assert failed[0][0] == "failed" and "disk full" in failed[0][1]
    assert rows(
        warehouse_url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging'",
    ) == [(0,)]


def test_a_critical_failure_loads_nothing_and_names_every_failure(settings_for, warehouse_url):
    values = synthetic_values(["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS"], range(2020, 2024))
    values["BX.TRF.PWKR.DT.GD.ZS"][0]["value"] = 150.0  # a percentage above 100: a warning only
    values["BX.TRF.PWKR.CD.DT"].append(dict(values["BX.TRF.PWKR.CD.DT"][0]))  # a duplicate key: critical
    settings = settings_for(FakeWorldBank(values=values))

    with pytest.raises(ValidationFailed) as error:
        run(settings)

    message = str(error.value)
    assert "failed 1 critical expectation(s)" in message and "release '2025-07-01'" in message
    assert "[critical] expect_compound_columns_to_be_unique on country_code, indicator_code, year" in message
    assert "2 failing rows" in message and "('TJK', 'BX.TRF.PWKR.CD.DT', 2020) × 2" in message
    assert "[warning] expect_column_values_to_be_between on value" in message
    assert "rows (largest first): TJK · BX.TRF.PWKR.DT.GD.ZS · 2020 = 150.0" in message
    assert counts(warehouse_url)["dw.fact_indicator_value"] == 0
    assert counts(warehouse_url)["dw.dim_source_release"] == 0
    failed = rows(
        warehouse_url,
        "SELECT expectation_type, severity, unexpected_count, sample_values FROM etl.validation_result"
        " WHERE NOT success ORDER BY expectation_type",
    )
    assert [(f[0], f[1], f[2]) for f in failed] == [
        ("expect_column_values_to_be_between", "warning", 1),  # 150 %
        ("expect_column_values_to_be_between", "warning", 1),  # 150 % → 15 % the year after
        ("expect_compound_columns_to_be_unique", "critical", 2),
    ]
    assert '[{"count": 1, "value": 150.0}]' in {f[3] for f in failed}
    assert rows(warehouse_url, "SELECT status FROM etl.load_run") == [("validation_failed",)]


def test_a_share_above_100_loads_flagged_and_warns(settings_for, warehouse_url, alert_webhook):
    values = synthetic_values(["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS"], range(2020, 2024))
    lesotho_like = values["BX.TRF.PWKR.DT.GD.ZS"][0]  # SYNTHETIC value in the range Lesotho had
    lesotho_like["value"] = 167.4
    settings = settings_for(FakeWorldBank(values=values), alert_webhook_url=alert_webhook.url)

    result = run(settings)

    assert result["load"]["rows"] == 2 * 5 * 4
    flagged = rows(
        warehouse_url,
        "SELECT country_code, year, value, quality_flags FROM dw.fact_indicator_value"
        " WHERE quality_flags IS NOT NULL ORDER BY year",
    )
    # 167.4 % is flagged; so is the next year's drop to 15 % (more than five times lower).
    assert flagged == [("TJK", 2020, 167.4, "pct_above_100"), ("TJK", 2021, 15.0, "jump_vs_previous_year")]
    (alert,) = alert_webhook.problems
    assert alert["kind"] == "validation_warning" and alert["severity"] == "warning"
    assert alert["release"] == "2025-07-01" and "loaded with 2 warning(s)" in alert["title"]
    assert "40 rows of release 2025-07-01 were loaded; 2 of them carry quality_flags" in alert["held_back"]
    warnings = {w["flag"]: w for w in alert["expectations"]}
    assert warnings["pct_above_100"]["column"] == "value"
    assert warnings["pct_above_100"]["values"] == [[167.4, 1]]
    assert warnings["jump_vs_previous_year"]["values"] == [[pytest.approx((15 - 167.4) / 167.4), 1]]


def test_row_count_drop_against_previous_release_fails(settings_for, warehouse_url):
    full = synthetic_values(["SP.POP.TOTL"], range(2000, 2024))
    run(settings_for(FakeWorldBank(values=full, lastupdated="2025-07-01")))
    short = synthetic_values(["SP.POP.TOTL"], range(2020, 2024))
    with pytest.raises(ValidationFailed, match=r"expect_table_row_count_to_be_between.*observed 20"):
        run(settings_for(FakeWorldBank(values=short, lastupdated="2025-12-16")))
    assert rows(warehouse_url, "SELECT count(*) FROM dw.dim_source_release") == [(1,)]


def test_data_quality_view_reports_success_failure_and_freshness(settings_for, warehouse_url):
    good = synthetic_values(["SP.POP.TOTL"], range(2020, 2024))
    run(settings_for(FakeWorldBank(values=good, lastupdated="2024-01-15")))
    bad = synthetic_values(["SP.POP.TOTL"], range(2020, 2024))
    bad["SP.POP.TOTL"][0]["value"] = -5.0
    bad["SP.POP.TOTL"].append(dict(bad["SP.POP.TOTL"][1]))
    with pytest.raises(ValidationFailed):
        run(settings_for(FakeWorldBank(values=bad, lastupdated="2024-02-15")))

    with get_engine(warehouse_url).connect() as conn:
        rows = {r.source: r for r in conn.execute(sa.text("SELECT * FROM reporting.data_quality"))}
    worldbank = rows["worldbank_indicators"]
    assert worldbank.last_success_at is not None and worldbank.last_failure_at is not None
    assert worldbank.last_failure_status == "validation_failed"
    assert worldbank.failing_expectations == (
        "expect_column_values_to_be_between(value); "
        "expect_compound_columns_to_be_unique(country_code, indicator_code, year)"
    )
    assert "expect_column_values_to_be_between(change_vs_previous_year)" in worldbank.warning_expectations
    assert worldbank.latest_release_date.isoformat() == "2024-01-15"
    assert worldbank.cadence_days == 200 and worldbank.release_age_days > 200 and worldbank.is_stale is True
    assert rows["undesa_migrant_stock"].last_success_at is None  # configured, never loaded


def test_values_jumping_against_the_previous_release_load_flagged_and_warn(
    settings_for, warehouse_url, alert_webhook
):
    first = synthetic_values(["NY.GDP.MKTP.CD"], range(2015, 2024))
    run(settings_for(FakeWorldBank(values=first, lastupdated="2025-07-01")))
    jumped = synthetic_values(["NY.GDP.MKTP.CD"], range(2015, 2024))
    for row in jumped["NY.GDP.MKTP.CD"][:10]:  # 10 of 45 values triple: more than 5 % jump by > 50 %
        row["value"] = row["value"] * 3 if row["value"] is not None else None

    run(
        settings_for(
            FakeWorldBank(values=jumped, lastupdated="2025-12-16"), alert_webhook_url=alert_webhook.url
        )
    )

    assert rows(warehouse_url, "SELECT count(*) FROM dw.dim_source_release") == [(2,)]
    assert rows(warehouse_url, "SELECT status FROM etl.load_run ORDER BY load_id") == [
        ("success",),
        ("success",),
    ]
    flagged = rows(
        warehouse_url,
        "SELECT count(*) FROM dw.fact_indicator_value f JOIN dw.dim_source_release r USING (release_id)"
        " WHERE r.release_label = '2025-12-16' AND f.quality_flags = 'revised_vs_previous'",
    )
    assert flagged == [(10,)]
    (alert,) = alert_webhook.problems
    (warning,) = alert["expectations"]
    assert warning["column"] == "change_vs_previous" and warning["flag"] == "revised_vs_previous"
    assert warning["unexpected_count"] == 10 and warning["values"][0] == [2.0, 10]


def test_stale_reference_data_are_refused_until_migrate_runs(make_settings, warehouse_url, tmp_path):
    import shutil

    from diaspora.errors import WarehouseNotReady

    health = tmp_path / "source_health.yml"
    shutil.copy(ROOT / "config" / "source_health.yml", health)
    settings = make_settings(warehouse_url=warehouse_url, source_health_file=health)
    with pytest.raises(WarehouseNotReady, match=r"lacks migration\(s\) 0001_core\.sql.*diaspora migrate"):
        pipeline.check_warehouse(settings)
    pipeline.prepare_warehouse(settings)
    assert pipeline.check_warehouse(settings)["reference_data"] == "current"

    health.write_text(health.read_text().replace("cadence_days: 200", "cadence_days: 100"))  # a new deploy

    with pytest.raises(
        WarehouseNotReady, match=r"reference data \(last synced .*source_health\.yml.*diaspora migrate"
    ):
        pipeline.check_warehouse(settings)
    pipeline.prepare_warehouse(settings)
    assert pipeline.check_warehouse(settings)["schema"] == "current"
