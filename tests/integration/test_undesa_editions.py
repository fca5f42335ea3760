"""Editions of UN DESA's International Migrant Stock on real DuckDB and real PostgreSQL, on small
SYNTHETIC workbooks in each edition's published layout (``tests/support/ims_workbook.py``): a new
edition is held for review and accepted in one command, then replaces the old one everywhere while
the old stays readable as published; a release of the same edition that silently loses values, and
a new edition that loses a large share of the stock, are quarantined; a workbook whose layout
changed fails its parse at once, with one alert, and loads from its landing once a parser reads it.

Every figure here is SYNTHETIC.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from diaspora import pipeline
from diaspora.alerts import Alert
from diaspora.cli import main as diaspora
from diaspora.errors import ReleaseHeld, ReleaseQuarantined
from diaspora.landing import Manifest
from tests.support.dag_helpers import load_dag, states
from tests.support.ims_workbook import (
    IMS_2020,
    IMS_2024,
    Edition,
    Row,
    write_workbook,
)
from tests.support.sql import rows

SOURCE = "undesa_migrant_stock"
WORLD, RUS, KAZ = (900, "World"), (643, "Russian Federation"), (398, "Kazakhstan")
ORIGINS = [(762, "Tajikistan"), (860, "Uzbekistan"), (417, "Kyrgyzstan"), (4, "Afghanistan")]
ORIGINS += [(795, "Turkmenistan"), (51, "Armenia"), (31, "Azerbaijan"), (268, "Georgia")]
MONGOLIA = (496, "Mongolia")  # a small value that a new edition drops
OFFLINE_URL = "http://127.0.0.1:9/unreachable.xlsx"  # nothing listens: an accept needs no network


def block(destination, edition: Edition, figures: dict[tuple[int, str], float]) -> list[Row]:
    """A destination's total row and one row per origin: female = figure, male = 2 × figure in
    every year of the edition (SYNTHETIC), the total the sum of its origins."""
    years = edition.years
    rows_ = [
        Row.by_sex(destination, origin, {y: f for y in years}, {y: 2 * f for y in years}, years=years)
        for origin, f in figures.items()
    ]
    total = sum(figures.values())
    return [
        Row.by_sex(destination, WORLD, {y: total for y in years}, {y: 2 * total for y in years}, years=years)
    ] + rows_


KAZAKHSTAN = {ORIGINS[0]: 50.0, MONGOLIA: 2.0}  # emigrants living in Kazakhstan, every edition


def edition_rows(edition: Edition, figures: dict[tuple[int, str], float]) -> list[Row]:
    """World, Russia (``figures``) and Kazakhstan as destinations; World sums the other two."""
    world = {o: figures.get(o, 0.0) + KAZAKHSTAN.get(o, 0.0) for o in [*figures, *KAZAKHSTAN] if o}
    return block(WORLD, edition, world) + block(RUS, edition, figures) + block(KAZ, edition, KAZAKHSTAN)


FIRST = {origin: 100.0 * (i + 1) for i, origin in enumerate(ORIGINS)} | {MONGOLIA: 1.0}  # IMS 2020


def serve(tmp_path, make_settings, warehouse_url, alert_webhook, rows_, edition: Edition, **kwargs):
    path = write_workbook(tmp_path / "migrant_stock.xlsx", rows_, edition=edition, **kwargs)
    return make_settings(
        undesa_ims_url=f"file://{path}",
        warehouse_url=warehouse_url,
        alert_webhook_url=alert_webhook.url,
        notify_on_success="false",
    )


def test_a_new_edition_is_held_then_accepted_and_replaces_the_old_everywhere(
    tmp_path, make_settings, warehouse_url, alert_webhook
):
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2020, FIRST), IMS_2020
    )
    assert not pipeline.run_source(SOURCE, settings)["skipped"]
    # IMS 2024 re-estimates Russia's values (+10 %), drops Mongolians in Russia (a small value) and adds
    # the year 2024: SYNTHETIC.
    second = {origin: 1.1 * f for origin, f in FIRST.items() if origin != MONGOLIA}
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2024, second), IMS_2024
    )
    with pytest.raises(ReleaseHeld, match=r"held for review before it replaces release IMS 2020"):
        pipeline.run_source(SOURCE, settings)

    (alert,) = alert_webhook.problems
    text = Alert(**alert).as_text()
    assert alert["kind"] == "new_edition_held" and alert["severity"] == "warning" and len(text) < 2000
    assert "IMS 2020 → IMS 2024 is a new edition" in alert["what"] and "years added: 2024" in alert["what"]
    assert "`diaspora accept undesa_migrant_stock`" in alert["held_back"]
    assert "IMS 2020 stays current everywhere" in alert["held_back"]
    # The country totals it moves most, one line per country: all origins, then Georgia (+80 a year).
    moved = [item["value"].split(" ")[0] for item in alert["changes"]["largest_totals"]]
    assert moved[:2] == ["M49:900", "GEO"] and len(set(moved)) == len(moved) == 5
    current = "SELECT DISTINCT release_label FROM reporting.migrant_stock"
    assert rows(warehouse_url, current) == [("IMS 2020",)]
    status = "SELECT status FROM etl.load_run WHERE source = :s ORDER BY started_at DESC LIMIT 1"
    assert rows(warehouse_url, status, s=SOURCE) == [("held",)]

    settings = make_settings(
        undesa_ims_url=OFFLINE_URL, warehouse_url=warehouse_url, notify_on_success="false"
    )
    assert diaspora(["accept", SOURCE]) == 0

    assert rows(warehouse_url, current) == [("IMS 2024",)]
    mongolia = (
        "SELECT release_label, migrants FROM {view} WHERE origin_code = 'MNG' AND destination_code = 'RUS'"
        " AND year = 2020 AND sex = 'female'"
    )
    # The value IMS 2024 dropped is not current (an older edition never fills a newer one's gaps) …
    assert rows(warehouse_url, mongolia.format(view="reporting.migrant_stock")) == []
    # … and IMS 2020 stays readable as published.
    assert rows(warehouse_url, mongolia.format(view="reporting.migrant_stock_by_release")) == [
        ("IMS 2020", 1.0)
    ]
    profile = "SELECT emigrants, stock_release FROM reporting.diaspora_profile"
    profile += " WHERE country_code = :c AND year = 2020"
    assert rows(warehouse_url, profile, c="TJK") == [(pytest.approx(1.1 * 300 + 150), "IMS 2024")]
    changes = rows(
        warehouse_url,
        "SELECT old_release_label, new_release_label, status FROM reporting.release_changes"
        " WHERE new_release_label = 'IMS 2024' ORDER BY diff_id",
    )
    assert changes == [("IMS 2020", "IMS 2024", "held"), ("IMS 2020", "IMS 2024", "accepted")]
    citations = dict(rows(warehouse_url, "SELECT release_label, citation FROM dw.dim_source_release"))
    assert citations["IMS 2020"].endswith("(2020). International Migrant Stock 2020.")
    assert citations["IMS 2024"].endswith("(2024). International Migrant Stock 2024.")


def test_a_release_of_the_same_edition_that_loses_values_is_quarantined(
    tmp_path, make_settings, warehouse_url, alert_webhook
):
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2024, FIRST), IMS_2024
    )
    pipeline.run_source(SOURCE, settings)
    lossy = {
        origin: f for origin, f in FIRST.items() if origin != ORIGINS[2]
    }  # Kyrgyzstan's row silently gone
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2024, lossy), IMS_2024
    )
    with pytest.raises(ReleaseQuarantined) as error:
        pipeline.run_source(SOURCE, settings)
    assert "IMS 2024 of undesa_migrant_stock is quarantined" in str(error.value)
    assert "48 of the previous release's 552 values (8.7%) are missing" in str(error.value)
    assert "diaspora accept undesa_migrant_stock" in str(error.value)
    assert rows(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock")[0][0] == 552


def test_a_new_edition_that_loses_much_of_the_stock_is_quarantined_as_broken(
    tmp_path, make_settings, warehouse_url, alert_webhook
):
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2020, FIRST), IMS_2020
    )
    pipeline.run_source(SOURCE, settings)
    broken = {origin: f for origin, f in FIRST.items() if origin != ORIGINS[-1]}  # Georgia: 800 of 3,601
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(IMS_2024, broken), IMS_2024
    )
    with pytest.raises(ReleaseQuarantined, match=r"sum to \d+\.\d\d% of the previous edition's values"):
        pipeline.run_source(SOURCE, settings)
    assert alert_webhook.problems == []  # outside Airflow the error is the report; the DAG alerts


@pytest.mark.e2e
def test_a_changed_layout_fails_its_parse_at_once_with_one_alert_and_loads_from_its_landing_later(
    airflow_db, tmp_path, make_settings, monkeypatch, alert_webhook
):
    from diaspora.sources.undesa_migrant_stock import layout

    warehouse_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("DIASPORA_TASK_RETRIES", "2")
    monkeypatch.setenv("DIASPORA_TASK_RETRY_DELAY_SECONDS", "0")
    # An edition whose layout lost the Coverage column (SYNTHETIC).
    without_coverage = layout.Layout(
        "IMS 2028", tuple(column for column in layout.LAYOUTS[1].columns if column[0] != "Coverage")
    )
    changed = Edition(2024, IMS_2024.years, without_coverage)
    settings = serve(
        tmp_path, make_settings, warehouse_url, alert_webhook, edition_rows(changed, FIRST), changed
    )
    run = load_dag(SOURCE).test(logical_date=datetime(2026, 11, 1, tzinfo=UTC))
    assert str(run.state) == "failed" and states(run)["parse"] == "failed", states(run)
    (parse,) = [ti for ti in run.get_task_instances() if ti.task_id == "parse"]
    assert parse.try_number == 1  # no retry: the file will not change
    (alert,) = alert_webhook.problems
    assert alert["kind"] == "parse_failed" and alert["task_id"] == "parse"
    assert "column 'Coverage' (column 3 of the IMS 2024 layout) is missing" in alert["what"]
    landing = Manifest.read(next((settings.raw_dir / SOURCE).glob("*/manifest.json")).parent).directory
    assert f"diaspora backfill undesa_migrant_stock {landing}" in alert["held_back"]

    # Once the parser knows the layout (here: registered as the code change would), the stored
    # landing loads without a new download.
    monkeypatch.setattr(layout, "LAYOUTS", (*layout.LAYOUTS, without_coverage))
    settings = make_settings(undesa_ims_url=OFFLINE_URL, warehouse_url=warehouse_url)
    loaded = pipeline.backfill(SOURCE, landing, settings)
    counted = rows(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock")[0][0]
    assert loaded["load"]["rows"] == counted == 23 * 24


@pytest.mark.e2e
def test_a_network_error_keeps_its_retries(airflow_db, tmp_path, make_settings, monkeypatch, alert_webhook):
    monkeypatch.setenv("DIASPORA_TASK_RETRIES", "2")
    monkeypatch.setenv("DIASPORA_TASK_RETRY_DELAY_SECONDS", "0")
    make_settings(
        undesa_ims_url=OFFLINE_URL,
        warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        alert_webhook_url=alert_webhook.url,
        http_max_retries=0,
    )
    run = load_dag(SOURCE).test(logical_date=datetime(2026, 11, 1, tzinfo=UTC))
    (extract,) = [ti for ti in run.get_task_instances() if ti.task_id == "extract"]
    assert str(run.state) == "failed" and extract.try_number == 3  # the first try and two retries
    assert [a["kind"] for a in alert_webhook.problems] == ["failure"]  # one alert, at the last try
