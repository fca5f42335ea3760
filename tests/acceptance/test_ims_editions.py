"""A real re-estimation, end to end, on DuckDB and on PostgreSQL: UN DESA's International Migrant
Stock 2020 and then 2024, the REAL figures of every country (``../shared/data/real/``), each served
in its own edition's published Table 1 layout at the same URL by a local HTTP server, each fetched
by a live run of the ``undesa_migrant_stock`` DAG.

The expected figures are computed here from the two CSV files with pandas, never through project
code: the diff's added, removed and revised values (a value is a cell of the workbook: each pair of
an edition has one per reference year and sex, '..' where the file has no figure), the years and
countries that appeared; the data folder's own counts (129,164 values in both editions up to 2020,
37,024 revised, 41,454 only in IMS 2020, 4,970 only in IMS 2024); Tajikistan-born abroad in 2020
(586,851 in IMS 2020, 517,979 in IMS 2024). The revision policy holds the new edition for review
with one alert; once accepted, IMS 2024 is current everywhere and IMS 2020 stays readable as
published. The World Bank figures the corridor estimates need are loaded once, live, beforehand.
DERIVED in the served workbooks (see ``tests/support/real_sources.py``): both sexes = female +
male, the total rows and the aggregate destinations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.alerts import Alert
from diaspora.cli import main as diaspora
from tests.support.dag_helpers import load_dag, states
from tests.support.ims_workbook import IMS_2020, IMS_2024
from tests.support.real_sources import (
    RealSourcesServer,
    load_ims_2020,
    load_real,
    require_real_data,
    write_ims_workbook,
)
from tests.support.sql import rows

pytestmark = [pytest.mark.e2e, pytest.mark.acceptance]
SOURCE = "undesa_migrant_stock"
SEXES = ("female", "male")


@pytest.fixture(scope="module")
def editions() -> dict:
    """The two real editions and what pandas computes from them."""
    require_real_data()
    old, new = load_ims_2020(), load_real().ims
    return {"old": old, "new": new, "expected": _expected(old, new)}


def _cells(stock: pd.DataFrame, years: tuple[int, ...]) -> pd.Series:
    """Every cell of an edition's workbook at sex level: each destination × origin pair it lists,
    × its reference years × female, male; NaN where the file has no figure ('..')."""
    pairs = stock[["destination_iso3", "origin_iso3"]].drop_duplicates()
    grid = pairs.merge(pd.DataFrame({"year": years}), how="cross").merge(
        pd.DataFrame({"sex": SEXES}), how="cross"
    )
    keys = ["destination_iso3", "origin_iso3", "year", "sex"]
    return grid.merge(stock[[*keys, "n"]], how="left", on=keys).set_index(keys)["n"].astype(float)


def _expected(old: pd.DataFrame, new: pd.DataFrame) -> dict:
    before, after = _cells(old, IMS_2020.years), _cells(new, IMS_2024.years)
    both = before.index.intersection(after.index)
    a, b = before[both], after[both]
    revised = ((a != b) & ~(a.isna() & b.isna())).sum()
    keys = ["destination_iso3", "origin_iso3", "year", "sex"]
    values = old.merge(new, how="outer", on=keys, suffixes=("_old", "_new"), indicator=True)
    values = values[values["year"] <= 2020]
    in_both = values[values["_merge"] == "both"]
    codes = lambda stock: set(stock["destination_iso3"]) | set(stock["origin_iso3"])  # noqa: E731

    def tajiks_abroad(stock: pd.DataFrame) -> int:
        return int(stock.loc[(stock["origin_iso3"] == "TJK") & (stock["year"] == 2020), "n"].sum())

    return {
        "cells": {
            "removed": len(before.index.difference(after.index)),
            "added": len(after.index.difference(before.index)),
            "revised": int(revised),
        },
        "values": {  # the data folder's README counts, at value level up to 2020
            "in_both": len(in_both),
            "revised": int((in_both["n_old"] != in_both["n_new"]).sum()),
            "only_old": int((values["_merge"] == "left_only").sum()),
            "only_new": int((values["_merge"] == "right_only").sum()),
        },
        "years_added": sorted(set(new["year"]) - set(old["year"])),
        "countries_added": sorted(codes(new) - codes(old)),
        "tajiks_2020": (tajiks_abroad(old), tajiks_abroad(new)),
        "tajiks_2024": int(new.loc[(new["origin_iso3"] == "TJK") & (new["year"] == 2024), "n"].sum()),
    }


@pytest.fixture(scope="module")
def workbooks(editions, tmp_path_factory) -> dict:
    """Both editions' Table 1 in their own layouts, written once (about 7 s each) for both engines."""
    folder = tmp_path_factory.mktemp("ims")
    return {
        edition.year: write_ims_workbook(folder / f"{edition.year}.xlsx", None, edition, editions[key])
        for edition, key in ((IMS_2020, "old"), (IMS_2024, "new"))
    }


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def runs(request, workbooks, airflow_db, make_settings, tmp_path, alert_webhook):
    """IMS 2020 loaded by a scheduled run; IMS 2024 served at the same URL and fetched by the next
    run (held for review); then the run an operator triggers to accept it."""
    url = (
        f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        if request.param == "duckdb"
        else request.getfixturevalue("postgres_url")
    )
    with RealSourcesServer(tmp_path / "served", with_workbook=False) as server:
        server.serve_ims(workbooks[2020])
        settings = make_settings(
            warehouse_url=url,
            worldbank_base_url=server.worldbank_base_url,
            undesa_ims_url=server.undesa_ims_url,
            alert_webhook_url=alert_webhook.url,
        )
        dag = load_dag(SOURCE)
        pipeline.run_source("worldbank_indicators", settings)  # the inflows and incomes of the corridors
        first = dag.test(logical_date=datetime(2026, 11, 1, tzinfo=UTC))
        assert str(first.state) == "success" and states(first)["load"] == "success", states(first)
        before = _snapshot(url)
        server.serve_ims(workbooks[2024])
        alerts_before = len(alert_webhook.received)
        second = dag.test(logical_date=datetime(2026, 12, 1, tzinfo=UTC))
        held_alerts = alert_webhook.received[alerts_before:]
        held = _snapshot(url)
        accepted = dag.test(logical_date=datetime(2026, 12, 2, tzinfo=UTC), run_conf={"accept": True})
    return {
        "url": url,
        "settings": settings,
        "states": [states(r) for r in (first, second, accepted)],
        "run_states": [str(r.state) for r in (first, second, accepted)],
        "before": before,
        "held": held,
        "held_alerts": held_alerts,
    }


def _snapshot(url: str) -> dict:
    """What the reporting layer says at a moment: the current edition, Tajikistan's emigrants, the
    corridor estimates' stock edition and latest year."""
    return {
        "current": rows(url, "SELECT DISTINCT release_label FROM reporting.migrant_stock"),
        "tajiks_2020": rows(
            url,
            "SELECT emigrants, stock_release FROM reporting.diaspora_profile WHERE country_code = 'TJK'"
            " AND year = 2020",
        ),
        "corridors": rows(
            url,
            "SELECT stock_release, max(year), count(*) FROM reporting.remittance_corridors"
            " GROUP BY stock_release",
        ),
        "tjk_2023_basis": rows(
            url,
            "SELECT DISTINCT stock_basis FROM reporting.remittance_corridors WHERE origin_code = 'TJK'"
            " AND year = 2023",
        ),
    }


def test_a_real_new_edition_is_held_accepted_and_then_current_everywhere(runs, editions, tmp_path):
    url, expected = runs["url"], editions["expected"]
    old_tajiks, new_tajiks = expected["tajiks_2020"]
    assert (old_tajiks, new_tajiks) == (586_851, 517_979)  # the data folder's README
    assert runs["run_states"] == ["success", "success", "success"], runs["states"]

    # IMS 2020, as the first scheduled run loaded it: current, in its corridors too; after its last
    # reference year the corridor estimates hold its 2020 stock, and say so.
    before = runs["before"]
    assert before["current"] == [("IMS 2020",)] and before["tajiks_2020"] == [(old_tajiks, "IMS 2020")]
    assert [(release, last) for release, last, _ in before["corridors"]] == [("IMS 2020", 2023)]
    assert before["tjk_2023_basis"] == [("held from UN DESA 2020",)]

    # IMS 2024: the policy held it for review; its load was skipped, nothing failed, one alert.
    assert runs["states"][1]["validate"] == "skipped" and runs["states"][1]["load"] == "skipped"
    assert runs["held"] == before
    (alert,) = runs["held_alerts"]
    text = Alert(**alert).as_text()
    assert alert["kind"] == "new_edition_held" and alert["severity"] == "warning"
    assert len(text) < 2000, len(text)
    assert "`diaspora accept undesa_migrant_stock`" in text and '{"accept": true}' in text
    assert "IMS 2020 → IMS 2024 is a new edition" in text
    changes = alert["changes"]
    assert changes["years_added"] == expected["years_added"] == [2024]
    assert changes["countries_added"] == expected["countries_added"] == ["TWN"]
    assert changes["countries_removed"] == [] and changes["years_removed"] == []
    assert len(changes["largest_totals"]) == 5  # by country total, one line per country
    assert len({item["value"].split(" ")[0] for item in changes["largest_totals"]}) == 5
    statuses = rows(url, "SELECT status FROM etl.load_run WHERE source = :s ORDER BY started_at", s=SOURCE)
    assert [s for (s,) in statuses] == ["success", "held", "success"]

    # Accepted with the conf {"accept": true}: the diff stored for it equals the one computed here.
    stored = rows(
        url,
        "SELECT status, added, removed, revised, years_added, countries_added FROM reporting.release_changes"
        " WHERE new_release_label = 'IMS 2024' ORDER BY diff_id",
    )
    counts = (changes["added"], changes["removed"], changes["revised"])
    assert stored == [
        ("held", *counts, "[2024]", '["TWN"]'),
        ("accepted", *counts, "[2024]", '["TWN"]'),
    ]
    _check_the_diff_against_the_csv_files(url, expected)
    _check_the_new_edition_is_current_everywhere(url, expected)
    _check_the_old_edition_reads_as_published(url, runs["settings"], old_tajiks, tmp_path)


def _check_the_diff_against_the_csv_files(url: str, expected: dict) -> None:
    """The stored revisions of the pairs of countries (and UN DESA's 'Other' origin) at sex level:
    their counts equal pandas' cell by cell; the values of both editions, read back from the fact
    table, give the data folder's counts."""
    pairs = (
        " FROM reporting.value_revisions AS v"
        " JOIN dw.dim_country AS o ON o.country_code = v.country_code"
        " JOIN dw.dim_country AS d ON d.country_code = v.counterpart_code"
        " WHERE v.new_release_label = 'IMS 2024' AND v.breakdown IN ('female', 'male')"
        " AND o.area_type <> 'aggregate' AND d.area_type <> 'aggregate'"
    )
    ids = dict(
        rows(url, "SELECT release_label, release_id FROM reporting.releases WHERE source = :s", s=SOURCE)
    )
    counted = dict(rows(url, f"SELECT v.change_kind, count(*){pairs} GROUP BY v.change_kind"))
    assert counted == expected["cells"], (counted, expected["cells"])
    values = rows(
        url,
        "SELECT count(*) FILTER (WHERE o.migrants IS NOT NULL AND n.migrants IS NOT NULL),"
        " count(*) FILTER (WHERE o.migrants <> n.migrants),"
        " count(*) FILTER (WHERE o.migrants IS NOT NULL AND n.migrants IS NULL),"
        " count(*) FILTER (WHERE o.migrants IS NULL AND n.migrants IS NOT NULL)"
        " FROM (SELECT * FROM dw.fact_migrant_stock WHERE release_id = :old AND sex <> 'both') AS o"
        " FULL JOIN (SELECT * FROM dw.fact_migrant_stock WHERE release_id = :new AND sex <> 'both'"
        " AND year <= 2020) AS n USING (origin_code, destination_code, year, sex)"
        " JOIN dw.dim_country AS oc ON oc.country_code = coalesce(o.origin_code, n.origin_code)"
        " JOIN dw.dim_country AS dc ON dc.country_code = coalesce(o.destination_code, n.destination_code)"
        " WHERE oc.area_type <> 'aggregate' AND dc.area_type <> 'aggregate'",
        old=ids["IMS 2020"],
        new=ids["IMS 2024"],
    )
    assert values == [tuple(expected["values"].values())] == [(129_164, 37_024, 41_454, 4_970)]


def _check_the_new_edition_is_current_everywhere(url: str, expected: dict) -> None:
    _, new_tajiks = expected["tajiks_2020"]
    fact_rows = rows(
        url,
        "SELECT count(*) FROM dw.fact_migrant_stock AS f JOIN reporting.releases AS r"
        " ON r.release_id = f.release_id WHERE r.release_label = 'IMS 2024'",
    )
    assert rows(url, "SELECT count(*) FROM reporting.migrant_stock") == fact_rows
    assert rows(url, "SELECT DISTINCT release_label FROM reporting.migrant_stock") == [("IMS 2024",)]
    profile = rows(
        url,
        "SELECT year, emigrants, stock_release FROM reporting.diaspora_profile WHERE country_code = 'TJK'"
        " AND year IN (2020, 2024) ORDER BY year",
    )
    assert profile == [(2020, new_tajiks, "IMS 2024"), (2024, expected["tajiks_2024"], "IMS 2024")]
    corridors = rows(
        url,
        "SELECT stock_release, min(year), max(year) FROM reporting.remittance_corridors"
        " GROUP BY stock_release",
    )
    assert corridors == [("IMS 2024", 1990, 2023)]  # the World Bank's last year; 2021-2023 interpolated
    basis = rows(
        url,
        "SELECT DISTINCT stock_basis FROM reporting.remittance_corridors"
        " WHERE origin_code = 'TJK' AND year = 2023",
    )
    assert basis == [("interpolated 2020-2024",)]
    current = rows(
        url, "SELECT release_label, is_current FROM reporting.releases WHERE source = :s ORDER BY 1", s=SOURCE
    )
    assert current == [("IMS 2020", False), ("IMS 2024", True)]
    licences = rows(
        url,
        "SELECT release_label, licence, citation FROM reporting.releases WHERE source = :s ORDER BY 1",
        s=SOURCE,
    )
    assert [(label, licence) for label, licence, _ in licences] == [
        ("IMS 2020", "CC BY 3.0 IGO"),
        ("IMS 2024", "CC BY 3.0 IGO"),
    ]
    assert [
        citation.endswith(f"International Migrant Stock {label[-4:]}.") for label, _, citation in licences
    ] == [
        True,
        True,
    ]


def _check_the_old_edition_reads_as_published(url: str, settings, old_tajiks: int, folder) -> None:
    """IMS 2020's own figures by release, and a factsheet pinned to it."""
    published = rows(
        url,
        "SELECT sum(migrants) FROM reporting.migrant_stock_by_release AS s JOIN dw.dim_country AS d"
        " ON d.country_code = s.destination_code WHERE s.release_label = 'IMS 2020' AND s.origin_code = 'TJK'"
        " AND s.year = 2020 AND s.sex = 'both' AND d.area_type = 'country'",
    )
    assert published == [(old_tajiks,)]
    assert (
        diaspora(["factsheet", "TJK", "--release", f"{SOURCE}=IMS 2020", "--no-pdf", "--workers", "1"]) == 0
    )
    (page,) = (settings.data_dir / "factsheets" / "as-published").glob("*/TJK/factsheet.json")
    facts = json.loads(page.read_text())
    figures = {figure["figure"]: figure for figure in facts["figures"]}
    assert figures["emigrants"]["value"] == old_tajiks and figures["emigrants"]["year"] == 2020
    assert figures["emigrants"]["release"] == "IMS 2020"
    assert diaspora(["factsheet", "TJK", "--no-pdf", "--workers", "1"]) == 0
    latest = json.loads((settings.data_dir / "factsheets" / "TJK" / "factsheet.json").read_text())
    current = {figure["figure"]: figure for figure in latest["figures"]}
    assert current["emigrants"]["release"] == "IMS 2024" and current["emigrants"]["year"] == 2024
