"""Releases as vintages, on real DuckDB and real PostgreSQL: the diff of two releases, the revision
policy's alerts, every release's figures as it published them, and backfills without the network.

The full-size test serves two UNHCR releases in the API's own format, built from the REAL population
table in ``../shared/data/real/`` with known revisions applied:

- release 2 ("UNHCR population 2025") is the real table without Monaco (MCO): SYNTHETICALLY removed;
- release 1 ("UNHCR population 2024") is the real table up to 2024 (2025 is the year release 2
  adds), Monaco included, with two values SYNTHETICALLY lowered: refugees from Tajikistan in
  Germany in 2024 by 100, so that Tajikistan's 2024 total is 3,945 — the figure an earlier real
  UNHCR release gave (the later one, in the real table, says 4,045) — and refugees from Kyrgyzstan
  in the United States in 2023 from 1,652 to 544, so that Kyrgyzstan's 2023 total moves by +50 %.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.cli import main as diaspora
from diaspora.errors import DiasporaError
from diaspora.warehouse.engine import get_engine
from tests.support.dag_helpers import load_dag, states
from tests.support.real_sources import RealSourcesServer, load_real, require_real_data
from tests.support.sql import rows
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

UNHCR = "unhcr_refugees"
REMOVED = "MCO"  # SYNTHETIC: release 2 drops every row of Monaco
TJK_KEY = ("TJK", "DEU", 2024, "refugees")
KGZ_KEY = ("KGZ", "USA", 2023, "refugees")
OFFLINE_URL = "http://127.0.0.1:9/unreachable"  # nothing listens there: a backfill must not need it


# === two World Bank releases on the sample (both engines) ======================================


def _worldbank(lastupdated: str, years: range, revised: dict | None = None, drop: str | None = None):
    """SYNTHETIC values: the sample's, with some revised and a country dropped."""
    values = synthetic_values(["BX.TRF.PWKR.CD.DT", "SP.POP.TOTL"], years)
    for rows_of_code in values.values():
        rows_of_code[:] = [r for r in rows_of_code if r["countryiso3code"] != drop or drop is None]
        for row in rows_of_code:
            key = (row["indicator"]["id"], row["countryiso3code"], int(row["date"]))
            if revised and key in revised:
                row["value"] = revised[key]
    return FakeWorldBank(values=values, lastupdated=lastupdated)


def test_an_older_release_backfilled_from_its_landing_hides_nothing_newer(
    httpserver, make_settings, warehouse_url, alert_webhook
):
    def serve(api: FakeWorldBank):
        httpserver.clear_all_handlers()
        return make_settings(
            worldbank_base_url=api.install(httpserver),
            warehouse_url=warehouse_url,
            alert_webhook_url=alert_webhook.url,
        )

    first = pipeline.run_source("worldbank_indicators", serve(_worldbank("2025-07-01", range(2019, 2023))))
    revised = {("BX.TRF.PWKR.CD.DT", "TJK", 2022): 5.5e9}  # SYNTHETIC revision
    second = pipeline.run_source(
        "worldbank_indicators", serve(_worldbank("2025-12-16", range(2019, 2024), revised))
    )
    assert not first["skipped"] and not second["skipped"]
    (notice,) = [a for a in alert_webhook.notifications if a["release"] == "2025-12-16"]
    # Revised: TJK 2022, and KGZ 2022 of both indicators, not available in the first release (the
    # sample's last year is null for KGZ) and available in the second.
    assert notice["changes"]["revised"] == 3 and notice["changes"]["years_added"] == [2023]
    assert notice["title"].startswith("worldbank_indicators: release loaded. 2025-12-16: 3 values revised")

    settings = make_settings(worldbank_base_url=OFFLINE_URL, warehouse_url=warehouse_url)
    again = pipeline.backfill("worldbank_indicators", "2025-07-01", settings, reload=True)

    assert again["landing_dir"] == first["landing_dir"] and again["load"]["rows"] == first["load"]["rows"]
    current = "SELECT value, release_label FROM reporting.indicator_values WHERE country_code = 'TJK'"
    current += " AND indicator_code = 'BX.TRF.PWKR.CD.DT' AND year = 2022"
    assert rows(warehouse_url, current) == [(5.5e9, "2025-12-16")]
    as_published = rows(
        warehouse_url,
        "SELECT release_label, value FROM reporting.indicator_values_by_release WHERE country_code = 'TJK'"
        " AND indicator_code = 'BX.TRF.PWKR.CD.DT' AND year = 2022 ORDER BY release_label",
    )
    assert as_published == [("2025-07-01", 1_000_000 * (2022 - 1980) + 3), ("2025-12-16", 5.5e9)]
    # The older release is compared with the release before *it* (none), not with the newest.
    diffs = rows(
        warehouse_url,
        "SELECT new_release_label, old_release_label, revised, status FROM reporting.release_changes"
        " ORDER BY new_release_label",
    )
    assert diffs == [("2025-07-01", None, 0, "loaded"), ("2025-12-16", "2025-07-01", 3, "loaded")]
    _check_the_layer_as_of_each_release(warehouse_url)
    with pytest.raises(
        DiasporaError, match=r"No stored landing of release '1999-01-01'.*2025-07-01, 2025-12-16"
    ):
        pipeline.backfill("worldbank_indicators", "1999-01-01", settings)


def _check_the_layer_as_of_each_release(url: str) -> None:
    """Pinned to the latest release, every aggregated view computed as of it equals the view;
    pinned to the first, the remittances are the first release's."""
    from diaspora.warehouse.mart import as_of_relations

    with get_engine(url).connect() as conn:
        ids = dict(conn.execute(sa.text("SELECT release_label, release_id FROM reporting.releases")).all())
        latest = as_of_relations({"dw.fact_indicator_value": ids["2025-12-16"]})
        assert sorted(latest) == [
            "reporting.diaspora_profile",
            "reporting.published_remittance_accuracy",
            "reporting.published_remittance_comparison",
            "reporting.remittance_corridor_gaps",
            "reporting.remittance_corridors",
            "reporting.remittances",
        ]
        needs_stock = set(latest) - {"reporting.remittances"}
        for view, select in latest.items():
            described = conn.execute(sa.text(f"SELECT * FROM {view} LIMIT 0")).keys()
            listed = ", ".join(described)
            now = conn.execute(sa.text(f"SELECT {listed} FROM {view} ORDER BY {listed}")).all()
            pinned = conn.execute(sa.text(f"SELECT {listed} FROM ({select}) AS v ORDER BY {listed}")).all()
            assert now == pinned and (now or view in needs_stock), view  # no UN DESA here
        first = as_of_relations({"dw.fact_indicator_value": ids["2025-07-01"]})["reporting.remittances"]
        received = conn.execute(
            sa.text(
                f"SELECT remittances_received_usd, release_label FROM ({first}) AS v"
                " WHERE country_code = 'TJK' AND year = 2022"
            )
        ).all()
        assert [tuple(r) for r in received] == [(1_000_000 * (2022 - 1980) + 3, "2025-07-01")]


def test_every_reporting_table_computes_from_pinned_releases_on_an_empty_warehouse(warehouse_url):
    """The SQL of each mart table with every fact table pinned (and the tables it reads computed
    the same way) runs on the engine."""
    from diaspora.warehouse.mart import FACT_KEYS, as_of_definition, mart_tables
    from diaspora.warehouse.schema import migrate

    engine = get_engine(warehouse_url)
    migrate(engine)
    pinned = dict.fromkeys(FACT_KEYS, 1)
    with engine.connect() as conn:
        for table in mart_tables():
            sql = as_of_definition(table, pinned)
            assert "mart.current_" not in sql and "FROM mart." not in sql and "JOIN mart." not in sql, table
            assert conn.execute(sa.text(f"SELECT count(*) FROM ({sql}) AS v")).scalar_one() == 0


# === two real-format UNHCR releases at full size (both engines) ================================


def _release_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(release 1, release 2): see the module docstring."""
    real = load_real().unhcr
    second = real[(real["coo_iso"] != REMOVED) & (real["coa_iso"] != REMOVED)].reset_index(drop=True)
    first = real[real["year"] <= 2024].copy()
    for (origin, asylum, year, _), new_value in ((TJK_KEY, 2018), (KGZ_KEY, 544)):
        where = (first["coo_iso"] == origin) & (first["coa_iso"] == asylum) & (first["year"] == year)
        assert where.sum() == 1
        first.loc[where, "refugees"] = new_value
    return first.reset_index(drop=True), second


@pytest.fixture(scope="module")
def vintages(tmp_path_factory):
    require_real_data()
    first, second = _release_tables()
    with RealSourcesServer(tmp_path_factory.mktemp("vintages"), with_workbook=False) as server:
        yield server, first, second


def _expected(first: pd.DataFrame, second: pd.DataFrame) -> dict:
    """What the diff must find, from the two tables alone (every item carries nine types)."""
    removed_items = (first["coo_iso"] == REMOVED) | (first["coa_iso"] == REMOVED)
    return {
        "rows_old": len(first) * 9,
        "rows_new": len(second) * 9,
        "added": int((second["year"] == 2025).sum()) * 9,
        "removed": int(removed_items.sum()) * 9,
        "revised": 2,
    }


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_releases(request, vintages, airflow_db, make_settings, tmp_path, alert_webhook):
    """Release 1 loaded; release 2 quarantined by a scheduled DAG run, then loaded on purpose by a
    DAG run triggered with {"accept": true} (the release held back last, from its landing)."""
    server, first, second = vintages
    url = (
        f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        if request.param == "duckdb"
        else request.getfixturevalue("postgres_url")
    )
    settings = make_settings(
        warehouse_url=url,
        unhcr_base_url=server.unhcr_base_url,
        unhcr_year_from=1951,
        alert_webhook_url=alert_webhook.url,
    )
    server.publish_unhcr(first)
    loaded = pipeline.run_source(UNHCR, settings)
    assert loaded["load"]["rows"] == len(first) * 9

    server.publish_unhcr(second)
    dag = load_dag(UNHCR)
    held = dag.test(logical_date=datetime(2026, 11, 1, tzinfo=UTC))
    assert states(held)["validate"] == "failed" and states(held)["load"] == "upstream_failed"
    quarantined = [a for a in alert_webhook.received if a["kind"] == "quarantined"]
    landing = held.get_task_instance("extract").xcom_pull(task_ids="extract")
    accepted = dag.test(
        logical_date=datetime(2026, 11, 2, tzinfo=UTC),
        run_conf={"accept": True},
    )
    assert str(accepted.state) == "success", states(accepted)
    return url, settings, loaded["landing_dir"], landing, quarantined, alert_webhook


def test_two_real_releases_diff_alert_and_read_as_published(two_releases, vintages, capsys):
    url, settings, first_landing, second_landing, quarantined, webhook = two_releases
    _, first, second = vintages
    expected = _expected(first, second)

    # The scheduled run was held back with one critical alert naming the country removed.
    (alert,) = quarantined
    assert alert["severity"] == "error" and alert["release"] == "UNHCR population 2025"
    assert f"absent from this release: {REMOVED}" in alert["what"]
    assert alert["changes"]["countries_removed"] == [REMOVED]
    assert (
        "`diaspora accept unhcr_refugees`" in alert["held_back"] and '{"accept": true}' in alert["held_back"]
    )
    accepted_from = "SELECT raw_location FROM dw.dim_source_release WHERE release_label = :l"
    assert rows(url, accepted_from, l="UNHCR population 2025") == [(second_landing,)]  # the held landing
    assert rows(url, "SELECT status FROM etl.load_run WHERE status <> 'success' ORDER BY load_id") == [
        ("quarantined",)
    ]

    # The diff stored for each attempt, read back from etl through reporting.release_changes.
    changes = rows(
        url,
        "SELECT status, rows_old, rows_new, added, removed, revised, countries_removed, years_added,"
        " revised_totals_count FROM reporting.release_changes WHERE old_release_id IS NOT NULL"
        " ORDER BY diff_id",
    )
    counted = (expected[k] for k in ("rows_old", "rows_new", "added", "removed", "revised"))
    stored = (*counted, json.dumps([REMOVED]), "[2025]", 1)
    assert changes == [("quarantined", *stored), ("accepted", *stored)]
    revisions = rows(
        url,
        "SELECT country_code, counterpart_code, year, measure, old_value, new_value"
        " FROM reporting.value_revisions"
        " WHERE change_kind = 'revised' ORDER BY country_code",
    )
    assert revisions == [
        (*KGZ_KEY[:3], "refugees", 544.0, 1652.0),
        (*TJK_KEY[:3], "refugees", 2018.0, 2118.0),
    ]
    kinds = rows(url, "SELECT change_kind, count(*) FROM reporting.value_revisions GROUP BY 1 ORDER BY 1")
    assert kinds == [("added", expected["added"]), ("removed", expected["removed"]), ("revised", 2)]

    # The notification carries the summary; the warning lists the total moved beyond 10 %.
    (notice,) = [a for a in webhook.notifications if a["release"] == "UNHCR population 2025"]
    assert notice["title"].startswith(
        "unhcr_refugees: release loaded. UNHCR population 2025: 2 values revised, "
        f"{expected['added']:,} added,"
    )
    assert notice["changes"]["largest_absolute"][0]["value"] == "KGZ refugees 2023 in USA"
    (warning,) = [
        a
        for a in webhook.problems
        if a["kind"] in ("validation_warning", "revision_warning") and a["release"] == "UNHCR population 2025"
    ]
    assert [(r["value"], r["old"], r["new"]) for r in warning["revisions"]] == [
        ("KGZ refugees 2023 (all counterparts)", 2216.0, 3324.0)
    ]
    assert "loaded on purpose after review: 1 country code(s)" in warning["what"]

    # As published: each release's figures; current: the newest release's, Monaco from release 1.
    by_release = rows(
        url,
        "SELECT release_label, sum(persons) FROM reporting.refugee_population_by_release"
        " WHERE origin_code = 'TJK' AND year = 2024 AND population_type = 'refugees' GROUP BY 1 ORDER BY 1",
    )
    assert by_release == [("UNHCR population 2024", 3945), ("UNHCR population 2025", 4045)]
    current = rows(
        url,
        "SELECT refugees_from, release_label FROM reporting.refugees WHERE country_code = 'TJK'"
        " AND year IN (2024, 2025) ORDER BY year",
    )
    real = load_real().unhcr
    tjk_2025 = int(real[(real["coo_iso"] == "TJK") & (real["year"] == 2025)]["refugees"].sum())
    assert current == [(4045, "UNHCR population 2025"), (tjk_2025, "UNHCR population 2025")]
    monaco = rows(
        url,
        "SELECT DISTINCT release_label FROM reporting.refugee_population"
        " WHERE origin_code = :c OR asylum_code = :c",
        c=REMOVED,
    )
    assert monaco == [("UNHCR population 2024",)]  # still the latest release that carries it

    # `diaspora diff` prints the same diff from the warehouse.
    assert diaspora(["diff", UNHCR, "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert f"  removed   {expected['removed']:>12,}   countries removed: {REMOVED}" in printed
    assert f"  added     {expected['added']:>12,}   years added: 2025" in printed
    assert "  revised              2" in printed
    assert "KGZ refugees 2023 (all counterparts): 2,216 → 3,324 (+50.0 %)" in printed

    _check_a_pinned_factsheet(settings)
    if url.startswith("duckdb"):  # engine-independent paths beyond those above: once
        _check_a_landing_under_review(second_landing, expected)
        _check_an_offline_reload(url, first_landing, first, second)


def _figure(path, name: str) -> dict:
    (figure,) = [f for f in json.loads(path.read_text())["figures"] if f["figure"] == name]
    return figure


def _check_a_pinned_factsheet(settings) -> None:
    """Tajikistan's factsheet as UNHCR's release 1 published it, and as of now."""
    from diaspora.factsheet import render_countries

    pinned = render_countries(settings, ["TJK"], pdf=False, pins={UNHCR: "UNHCR population 2024"})
    (facts_file,) = (settings.data_dir / "factsheets" / "as-published").glob("*/TJK/factsheet.json")
    refugees = _figure(facts_file, "refugees_from")
    assert (refugees["value"], refugees["year"], refugees["release"]) == (3945, 2024, "UNHCR population 2024")
    assert json.loads(facts_file.read_text())["pinned_releases"] == [
        f"{UNHCR}: UNHCR population 2024 (release_id 1)"
    ]
    assert "As published in a pinned release" in (facts_file.parent / "factsheet.html").read_text()
    assert pinned["countries"] == 1
    render_countries(settings, ["TJK"], pdf=False)
    latest = settings.data_dir / "factsheets" / "TJK" / "factsheet.json"
    assert _figure(latest, "refugees_from")["year"] == 2025
    assert json.loads(latest.read_text())["pinned_releases"] == []


def _check_a_landing_under_review(landing: str, expected: dict) -> None:
    """`diaspora diff SOURCE OLD LANDING`: what the quarantine alert tells the operator to run."""
    compared = pipeline.compare_releases(UNHCR, "UNHCR population 2024", landing)
    assert compared.diff.counts["removed"] == expected["removed"] and compared.verdict.quarantine
    assert compared.new_name == f"landing {landing}"


def _check_an_offline_reload(url: str, first_landing: str, first: pd.DataFrame, second: pd.DataFrame) -> None:
    """Release 1 re-loaded from its landing with the source unreachable: same rows, and the
    current figures stay the newest release's."""
    settings = pipeline.get_settings().model_copy(update={"unhcr_base_url": OFFLINE_URL})
    again = pipeline.backfill(UNHCR, "UNHCR population 2024", settings, reload=True)
    assert again["landing_dir"] == first_landing and again["load"]["rows"] == len(first) * 9
    counted = rows(
        url, "SELECT count(*) FROM dw.fact_refugee_population GROUP BY release_id ORDER BY release_id"
    )
    assert counted == [(len(first) * 9,), (len(second) * 9,)]
    current = rows(
        url, "SELECT refugees_from FROM reporting.refugees WHERE country_code = 'TJK' AND year = 2024"
    )
    assert current == [(4045,)]
