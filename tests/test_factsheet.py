"""The diaspora factsheet: figures equal the reporting views, the page renders in a real headless
Chromium with visible charts, and the diaspora_reporting DAG runs after the sources."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.factsheet import collect, write_factsheet
from diaspora.warehouse.engine import get_engine
from tests.conftest import ROOT
from tests.dag_helpers import load_dag, states

ARTIFACTS = ROOT / "test-artifacts"
IMS_SAMPLE = ROOT / "snapshots" / "undesa" / "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
SNAPSHOTS = {
    "worldbank_base_url": f"file://{ROOT / 'snapshots' / 'worldbank' / 'api'}",
    "undesa_ims_url": f"file://{IMS_SAMPLE}",
    "unhcr_base_url": f"file://{ROOT / 'snapshots' / 'unhcr' / 'api'}",
}


@pytest.fixture
def loaded(make_settings, warehouse_url):
    settings = make_settings(warehouse_url=warehouse_url, **SNAPSHOTS)
    pipeline.run_source("worldbank_indicators", settings)
    pipeline.run_source("undesa_migrant_stock", settings)
    pipeline.run_source("unhcr_refugees", settings)
    return settings


def one(url: str, sql: str) -> dict:
    with get_engine(url).connect() as conn:
        return dict(conn.execute(sa.text(sql)).first()._mapping)


def test_figures_equal_the_reporting_views(loaded):
    url = loaded.warehouse_url
    with get_engine(url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
        kazakhstan = collect(conn, "KAZ", "EEA")
    figures = facts["figures"]
    profile = one(url, "SELECT * FROM reporting.diaspora_profile WHERE country_code = 'TJK' AND year = 2024")
    remittances = one(url, "SELECT * FROM reporting.remittances WHERE country_code = 'TJK' AND year = 2023")
    assert figures["remittances_received_usd"].value == remittances["remittances_received_usd"] == 4633754222
    assert figures["remittances_received_usd"].year == 2023
    assert figures["remittances_received_pct_gdp"].value == remittances["remittances_received_pct_gdp"]
    assert figures["emigrants"].value == profile["emigrants"] == 514478
    assert figures["emigrants_pct_of_population"].value == profile["emigrants_pct_of_population"]
    assert figures["emigrants_pct_of_population"].year == profile["population_year"] == 2023
    assert figures["female_pct"].value == profile["female_pct"]
    assert figures["group_emigrants"].value == profile["eea_emigrants"] == 1961
    assert figures["group_female_pct"].value == pytest.approx(profile["eea_female_pct"])
    assert [d["code"] for d in facts["top_destinations"]] == ["RUS", "UKR", "KAZ", "TUR", "UZB"]
    assert (
        figures["emigrants"].release == "IMS 2024"
        and "reference year 2024" in figures["emigrants"].source_line
    )
    refugees = one(url, "SELECT * FROM reporting.refugees WHERE country_code = 'TJK' AND year = 2024")
    assert figures["refugees_from"].value == refugees["refugees_from"] == 3945
    assert figures["asylum_seekers_from"].value == refugees["asylum_seekers_from"] == 8203
    assert figures["refugees_hosted"].value == 11033 and figures["stateless_hosted"].value == 3629
    assert kazakhstan["figures"]["refugees_from"].value is None  # not in the sample: not available, never 0
    assert len(facts["institutions"]) == 6 and len(facts["policies"]) == 9
    assert kazakhstan["figures"]["emigrants"].value is None
    assert "not available" in kazakhstan["figures"]["emigrants"].source_line


def test_outputs_carry_the_same_figures(loaded, tmp_path):
    with get_engine(loaded.warehouse_url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
    paths = write_factsheet(facts, tmp_path / "TJK")
    records = {r["figure"]: r for r in json.loads(Path(paths["json"]).read_text())["figures"]}
    assert records["emigrants"]["value"] == 514478 and records["emigrants"]["release"] == "IMS 2024"
    csv_text = Path(paths["csv"]).read_text()
    assert 'emigrants,514478.0,persons,2024,"UN DESA, International Migrant Stock",IMS 2024' in csv_text
    page = Path(paths["html"]).read_text()
    assert "514,478" in page and "USD 4,633.8 million" in page and "11,033" in page
    assert "Migration Service (2011)" in page and "38.4%" in page
    assert page.count("<svg") == 3 and "http://" not in page.split("<svg")[0]  # nothing fetched from the web


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("DIASPORA_REQUIRE_CHROMIUM") == "1":
            pytest.fail(
                "DIASPORA_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _run_chromium(*args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_the_page_in_headless_chromium(loaded, tmp_path):
    from PIL import Image

    with get_engine(loaded.warehouse_url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
    page = Path(write_factsheet(facts, tmp_path / "TJK")["html"])

    dom = _run_chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-visible-charts="3"' in dom.stdout  # three charts laid out with a real size
    shown = dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', dom.stdout))
    assert float(shown["emigrants"]) == facts["figures"]["emigrants"].value
    assert float(shown["remittances_received_usd"]) == facts["figures"]["remittances_received_usd"].value
    assert float(shown["refugees_from"]) == 3945 and float(shown["stateless_hosted"]) == 3629
    assert "Coordinating Council on Cooperation with Tajik Diaspora" in dom.stdout  # the engagement section
    assert "dual citizenship restricted (with RUS, since 1995)" in dom.stdout

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "factsheet_TJK.png"
    shot = _run_chromium("--window-size=900,2400", f"--screenshot={screenshot}", page.as_uri())
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    image = Image.open(screenshot).convert("L")
    inked = sum(1 for pixel in image.get_flattened_data() if pixel < 200) / (image.width * image.height)
    assert inked > 0.02  # text and charts drawn, not a blank page

    pdf = tmp_path / "factsheet.pdf"
    printed = _run_chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert printed.returncode == 0 and pdf.exists(), printed.stderr[-2000:]
    media_boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    width, height = 595.9, 842.9  # A4 in points, as Chromium writes it
    assert media_boxes
    assert all(abs(float(w) - width) < 2 and abs(float(h) - height) < 2 for w, h in media_boxes)


@pytest.mark.e2e
def test_reporting_dag_runs_after_the_source_dags(airflow_db, make_settings, warehouse_url, monkeypatch):
    make_settings(warehouse_url=warehouse_url, factsheet_countries="TJK,KGZ", **SNAPSHOTS)
    from diaspora.settings import get_settings

    dag_ids = ("worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees", "diaspora_reporting")
    for day, dag_id in enumerate(dag_ids, start=1):
        dag_run = load_dag(dag_id).test(logical_date=datetime(2026, 11, day, tzinfo=UTC))
        assert str(dag_run.state) == "success", (dag_id, states(dag_run))
    for country in ("TJK", "KGZ"):
        folder = get_settings().data_dir / "factsheets" / country
        assert {p.name for p in folder.iterdir()} == {"factsheet.html", "factsheet.json", "factsheet.csv"}
    page = (get_settings().data_dir / "factsheets" / "TJK" / "factsheet.html").read_text()
    assert "514,478" in page and "USD 4,633.8 million" in page and "11,033" in page
    assert "Migration Service (2011)" in page
