"""The diaspora factsheet: figures equal the reporting views, the page renders in a real headless
Chromium with visible charts, and the diaspora_reporting DAG runs after the sources."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from diaspora import pipeline
from diaspora.factsheet import write_factsheet
from diaspora.factsheet_data import collect
from diaspora.printing import print_pdfs
from diaspora.warehouse.engine import get_engine
from tests.support import ROOT, sample_path, sample_url
from tests.support.browser import body_attribute, chart_texts, laid_out_dom, pdf_pages_and_text, screenshot
from tests.support.dag_helpers import load_dag, states
from tests.support.sql import dicts

ARTIFACTS = ROOT / "test-artifacts"
IMS_SAMPLE = sample_path("undesa_migrant_stock")
SNAPSHOTS = {
    "worldbank_base_url": sample_url("worldbank_indicators"),
    "undesa_ims_url": f"file://{IMS_SAMPLE}",
    "unhcr_base_url": sample_url("unhcr_refugees"),
    "knomad_matrix_url": f"file://{sample_path('knomad_bilateral_remittances')}",
}


@pytest.fixture
def loaded(make_settings, warehouse_url):
    settings = make_settings(warehouse_url=warehouse_url, **SNAPSHOTS)
    pipeline.run_source("worldbank_indicators", settings)
    pipeline.run_source("undesa_migrant_stock", settings)
    pipeline.run_source("unhcr_refugees", settings)
    pipeline.run_source("knomad_bilateral_remittances", settings)
    return settings


def test_figures_equal_the_reporting_views(loaded):
    url = loaded.warehouse_url
    with get_engine(url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
        kazakhstan = collect(conn, "KAZ", "EEA")
    figures = facts["figures"]
    profile = dicts(
        url, "SELECT * FROM reporting.diaspora_profile WHERE country_code = 'TJK' AND year = 2024"
    )[0]
    remittances = dicts(
        url, "SELECT * FROM reporting.remittances WHERE country_code = 'TJK' AND year = 2023"
    )[0]
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
    corridors = dicts(
        url,
        "SELECT destination_code, estimated_usd, corridor_rank FROM reporting.remittance_corridors"
        " WHERE origin_code = 'TJK' AND year = 2023 AND method = 'published_method' ORDER BY corridor_rank",
    )
    sources = facts["remittance_sources"]
    assert sources["year"] == 2023 and sources["inflow_usd"] == 4633754222
    assert [(r["code"], r["published_method"]) for r in sources["rows"]] == [
        (c["destination_code"], c["estimated_usd"]) for c in corridors if c["corridor_rank"] <= 5
    ]
    assert sources["rows"][0]["code"] == "RUS"
    # Beside the model, the published 2017 matrix (the sample's extract of the real workbook):
    # Russian Federation → Tajikistan US$ 1,686.57 m of 2,219.7 m, 76.0 %.
    russia = sources["rows"][0]
    assert russia["published"] == pytest.approx(1_686.574106e6, rel=1e-9)
    assert round(russia["published_pct"], 1) == 76.0
    assert sources["published_year"] == 2017
    assert sources["published_release"] == "KNOMAD 2017 (April 2018 version)"
    assert russia["stock_shares"] != russia["published_method"]  # incomes in PPP differ: so do the methods
    assert abs(sum(c["estimated_usd"] for c in corridors) - 4633754222) < 0.01  # the inflow, shared out
    assert (
        figures["emigrants"].release == "IMS 2024"
        and "reference year 2024" in figures["emigrants"].source_line
    )
    refugees = dicts(url, "SELECT * FROM reporting.refugees WHERE country_code = 'TJK' AND year = 2024")[0]
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
    assert "514,478" in page and "US$ 4.6 bn" in page and "11,033" in page
    assert "Migration Service (2011)" in page and "38.4%" in page
    assert page.count("<svg") == 3 and "http://" not in page.split("<svg")[0]  # nothing fetched from the web


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_the_page_in_headless_chromium(loaded, tmp_path):
    from PIL import Image

    with get_engine(loaded.warehouse_url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
    page = Path(write_factsheet(facts, tmp_path / "TJK")["html"])

    dom = laid_out_dom(page)
    assert body_attribute(dom, "data-visible-charts") == "3"  # three charts laid out with a real size
    assert body_attribute(dom, "data-empty-charts") == "" and body_attribute(dom, "data-text-overlaps") == ""
    shown = dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', dom))
    assert float(shown["emigrants"]) == facts["figures"]["emigrants"].value
    assert float(shown["remittances_received_usd"]) == facts["figures"]["remittances_received_usd"].value
    assert float(shown["refugees_from"]) == 3945 and float(shown["stateless_hosted"]) == 3629
    assert "Coordinating Council on Cooperation with Tajik Diaspora" in dom  # the engagement section
    assert "dual citizenship restricted (with RUS, since 1995)" in dom
    # The charts' own texts, as drawn: plain years, country names on the bars, people's numbers.
    trend = chart_texts(dom, "remittances_trend")
    top = chart_texts(dom, "top_destinations")
    stock = chart_texts(dom, "emigrant_stock")
    assert {"2016", "2018", "2020", "2022"} <= set(trend)
    assert not [t for t in trend if re.fullmatch(r"\d,\d{3}", t)]  # never "2,016"
    assert "4.0 bn" in trend and "US$" in trend
    assert {"Russia", "Ukraine", "Kazakhstan", "Türkiye", "Uzbekistan"} <= set(top)
    assert not {"1", "2", "3", "4"} & set(top)  # bar positions never stand in for the names
    assert "415,676" in top and "30,256" in top
    assert {"1990", "2000", "2020"} <= set(stock) and "300,000" in stock and {"women", "men"} <= set(stock)

    ARTIFACTS.mkdir(exist_ok=True)
    image = Image.open(screenshot(page, ARTIFACTS / "factsheet_TJK_sample.png")).convert("L")
    inked = sum(1 for pixel in image.get_flattened_data() if pixel < 200) / (image.width * image.height)
    assert inked > 0.02  # text and charts drawn, not a blank page

    (pdf,) = print_pdfs([page])
    pages, text, sizes = pdf_pages_and_text(pdf)
    assert pdf == page.with_suffix(".pdf") and 2 <= pages <= 4, pages
    assert all(abs(w - 595.9) < 2 and abs(h - 842.9) < 2 for w, h in sizes)  # A4 in points
    assert "Diaspora profile: Tajikistan" in text and "514,478" in text and "US$ 4.6 bn" in text
    assert "415,676" in text and "Russia" in text  # the bar chart printed with its texts


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
        assert {p.name for p in folder.iterdir()} == {
            "factsheet.html",
            "factsheet.json",
            "factsheet.csv",
            "factsheet.pdf",
        }
    index = (get_settings().data_dir / "factsheets" / "index.html").read_text()
    assert 'href="TJK/factsheet.pdf"' in index and 'href="KGZ/factsheet.html"' in index
    page = (get_settings().data_dir / "factsheets" / "TJK" / "factsheet.html").read_text()
    assert "514,478" in page and "US$ 4.6 bn" in page and "11,033" in page
    assert "Migration Service (2011)" in page
