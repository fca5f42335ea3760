"""The validation report: every row of ``etl.validation_result`` on one self-contained page, drawn by
a real headless Chromium with the network cut off, on DuckDB and PostgreSQL; read read-only, and
never creating a warehouse that does not exist."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import UsageError, ValidationFailed, WarehouseError
from diaspora.printing import print_pdfs
from diaspora.validation_report import read_only, write_validation_report
from diaspora.warehouse.audit import record_validation_results
from diaspora.warehouse.engine import dispose_all, get_engine
from diaspora.warehouse.schema import migrate
from tests.support.browser import (
    body_attribute,
    heading_texts,
    offline_dom,
    pages_ending_with,
    pdf_page_lines,
    screenshot,
)
from tests.support.samples import load_samples, sample_settings
from tests.support.sql import dicts, rows
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

ROW = re.compile(
    r'<tr data-result-id="(\d+)" data-success="(\w+)" data-severity="(\w*)" data-unexpected="(\d*)"'
)


def result_rows(dom: str) -> dict[int, tuple[str, str, str]]:
    """Every result row drawn: result id → (success, severity, unexpected count)."""
    found = ROW.findall(dom)
    drawn = {int(i): (success, severity, unexpected) for i, success, severity, unexpected in found}
    assert len(drawn) == len(found), "a result is drawn twice"
    return drawn


def stored_rows(url: str) -> dict[int, tuple[str, str, str]]:
    return {
        r["result_id"]: (
            "true" if r["success"] else "false",
            r["severity"] or "",
            "" if r["unexpected_count"] is None else str(r["unexpected_count"]),
        )
        for r in dicts(
            url, "SELECT result_id, success, severity, unexpected_count FROM etl.validation_result"
        )
    }


def assert_self_contained(page_html: str) -> None:
    """Nothing on the page is fetched: no element loads a file, every link is to an anchor of the
    page, the CSS imports nothing."""
    assert not re.search(r"<(?:link|img|iframe|object|embed|source|video|audio)\b", page_html, re.I)
    assert not re.search(r"<script[^>]*\ssrc\s*=", page_html, re.I)
    references = re.findall(r"\s(?:src|href|srcset|poster|data)\s*=\s*\"([^\"]*)\"", page_html, re.I)
    assert all(link.startswith("#") for link in references), [r for r in references if r[:1] != "#"]
    assert not re.search(r"https?://[^\s\"<]*\.(?:css|js|woff2?|ttf|png|svg)\b", page_html)
    assert "@import" not in page_html and "url(" not in page_html and "@font-face" not in page_html


@pytest.fixture
def loaded(make_settings, warehouse_url):
    settings = make_settings(warehouse_url=warehouse_url, **sample_settings())
    load_samples(settings)
    return settings


def test_every_result_of_every_release_is_drawn_offline(loaded, tmp_path):
    url = loaded.warehouse_url
    page = write_validation_report(loaded)

    assert page == loaded.data_dir / "validation" / "index.html"
    text = page.read_text()
    assert_self_contained(text)
    stored = stored_rows(url)
    assert len(stored) > 40  # the four samples' suites, every expectation of each

    dom = offline_dom(page)  # an offline Chromium: the page as drawn, its checks run
    assert (
        body_attribute(dom, "data-fetched") == "0" and body_attribute(dom, "data-outside-references") == "0"
    )
    assert body_attribute(dom, "data-visible-results") == str(len(stored))  # each row laid out, with a size
    assert result_rows(dom) == stored  # every row of etl.validation_result, none invented, as stored

    # The list is in the HTML as written, not drawn by a script: it shows with JavaScript off too.
    assert result_rows(text) == stored

    # One section per source and release, releases newest first in the summary.
    releases = dicts(
        url,
        "SELECT source, release_label, max(validated_at) AS last FROM etl.validation_result"
        " GROUP BY source, release_label ORDER BY last DESC",
    )
    summary = re.findall(r'<tr data-summary="[^"]*">\s*<td>(.*?)</td>\s*<td><a href="#[^"]*">(.*?)</a>', dom)
    assert [(unbreak(source), html.unescape(label)) for source, label in summary] == [
        (r["source"], r["release_label"]) for r in releases
    ]
    for release in releases:
        assert f'data-release="{html.escape(release["release_label"])}"' in dom
    assert len(re.findall(r'<section class="source"', dom)) == 4
    # The release's own description, from dw.dim_source_release and etl.load_run.
    assert "IMS 2024" in dom and "CC BY 3.0 IGO" in dom and 'data-load="success"' in dom
    screenshot(page, tmp_path / "validation.png")


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_the_report_prints_with_its_headings_on_the_page_of_their_results(loaded):
    page = write_validation_report(loaded)
    (pdf,) = print_pdfs([page])
    pages = pdf_page_lines(pdf)
    assert len(pages) >= 2
    assert pages_ending_with(pdf, heading_texts(page.read_text(), "234")) == []
    printed = " ".join(" ".join(lines) for lines in pages)
    for label in ("IMS 2024", "UNHCR population 2024", "KNOMAD 2017 (April 2018 version)"):
        assert f"Release {label}" in printed


def unbreak(text: str) -> str:
    return html.unescape(text.replace("<wbr>", ""))


def test_a_failed_warning_and_a_refused_release_show_with_their_counts(
    httpserver, make_settings, warehouse_url
):
    def release(api: FakeWorldBank):
        httpserver.clear_all_handlers()
        return make_settings(
            worldbank_base_url=api.install(httpserver), warehouse_url=warehouse_url, worldbank_per_page=25
        )

    values = synthetic_values(["BX.TRF.PWKR.CD.DT", "BX.TRF.PWKR.DT.GD.ZS"], range(2020, 2024))
    values["BX.TRF.PWKR.DT.GD.ZS"][0]["value"] = 167.4  # SYNTHETIC: a share above 100 %, a warning
    pipeline.run_source(
        "worldbank_indicators", release(FakeWorldBank(values=values, lastupdated="2025-07-01"))
    )
    values["BX.TRF.PWKR.CD.DT"].append(dict(values["BX.TRF.PWKR.CD.DT"][0]))  # a duplicate key: critical
    settings = release(FakeWorldBank(values=values, lastupdated="2025-12-16"))
    with pytest.raises(ValidationFailed):
        pipeline.run_source("worldbank_indicators", settings)

    dom = offline_dom(write_validation_report(settings))

    stored = stored_rows(warehouse_url)
    assert result_rows(dom) == stored
    failed = dicts(
        warehouse_url,
        "SELECT result_id, release_label, expectation_type, severity, unexpected_count, sample_values"
        " FROM etl.validation_result WHERE NOT success ORDER BY result_id",
    )
    loaded_warning = [f for f in failed if f["release_label"] == "2025-07-01"]
    assert {(f["severity"], f["unexpected_count"]) for f in loaded_warning} == {("warning", 1)}
    for row in failed:  # each failure drawn with its severity and unexpected count
        assert result_rows(dom)[row["result_id"]] == ("false", row["severity"], str(row["unexpected_count"]))
    # The share above 100 % with its failing value and count, as the table stores it.
    percentage = next(f for f in loaded_warning if f["sample_values"] == '[{"count": 1, "value": 167.4}]')
    drawn = row_html(dom, percentage["result_id"])
    assert ">warning<" in drawn and ">failed<" in drawn and ">167.4</code>" in drawn and "× 1" in drawn
    assert "1 (" in drawn  # the unexpected count, with its share of the rows

    # Newest release first; the refused one says so and that it never loaded.
    newer, older = (section(dom, label) for label in ("2025-12-16", "2025-07-01"))
    assert dom.index('data-release="2025-12-16"') < dom.index('data-release="2025-07-01"')
    assert ">failed<" in newer and "never loaded" in newer and "load validation_failed" in newer
    assert (
        "1 critical failed" in newer
        and "expect_<wbr>compound_<wbr>columns_<wbr>to_<wbr>be_<wbr>unique" in newer
    )
    assert (
        ">passed with warnings<" in older and 'data-load="success"' in older and "2 warnings failed" in older
    )


def row_html(dom: str, result_id: int) -> str:
    start = dom.index(f'<tr data-result-id="{result_id}"')
    return dom[start : dom.index("</tr>", start)]


def section(dom: str, label: str) -> str:
    start = dom.index(f'data-release="{label}"')
    return dom[start : dom.index("</section>", start)]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_stored_text_is_escaped(make_settings, warehouse_url):
    settings = make_settings(warehouse_url=warehouse_url)
    migrate(get_engine(warehouse_url))
    hostile = "<script>alert('x')</script>"
    with get_engine(warehouse_url).begin() as conn:  # SYNTHETIC row: text a source could carry
        record_validation_results(
            conn,
            [
                {
                    "source": "worldbank_indicators",
                    "suite": "worldbank_indicators",
                    "dag_id": None,
                    "run_id": "<b>run</b>",
                    "content_sha256": "0" * 64,
                    "release_label": "<i>release</i> & co",
                    "expectation_type": "expect_column_values_to_be_in_set",
                    "column_name": "country_code",
                    "kwargs_json": '{"column": "country_code", "value_set": ["<a>"]}',
                    "success": False,
                    "unexpected_count": 2,
                    "unexpected_percent": 50.0,
                    "observed_value": None,
                    "sample_values": f'[{{"count": 2, "value": "{hostile}"}}]',
                    "validated_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                    "severity": "warning",
                }
            ],
        )
    text = write_validation_report(settings).read_text()
    assert hostile not in text and "<b>run" not in text and "<i>release" not in text and "<a>" not in text
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
        and "&lt;i&gt;release&lt;/i&gt; &amp; co" in text
    )
    assert text.count("<script>") == 1  # the page's own check


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_warehouse_without_validations_says_what_to_run(make_settings, warehouse_url):
    settings = make_settings(warehouse_url=warehouse_url)
    migrate(get_engine(warehouse_url))
    text = write_validation_report(settings).read_text()
    assert 'data-empty="yes"' in text and "make demo" in text and 'data-total="results">0<' in text


def test_no_warehouse_is_never_created(make_settings, tmp_path):
    folder = tmp_path / "nowhere"
    settings = make_settings(warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}")
    with pytest.raises(UsageError) as error:
        write_validation_report(settings)
    message = str(error.value)
    assert "\n" not in message and "`make demo`" in message and "`diaspora migrate`" in message
    assert str(folder / "warehouse.duckdb") in message
    assert not folder.exists() and not (settings.data_dir / "validation").exists()


def test_an_unmigrated_warehouse_says_to_migrate(make_settings, warehouse_url):
    if warehouse_url.startswith("duckdb"):
        import duckdb

        duckdb.connect(sa.make_url(warehouse_url).database).close()  # a file, but no schema
    settings = make_settings(warehouse_url=warehouse_url)
    with pytest.raises(UsageError, match=r"not migrated .*run `diaspora migrate`") as error:
        write_validation_report(settings)
    assert "\n" not in str(error.value)


def test_the_warehouse_is_read_read_only(loaded):
    url = loaded.warehouse_url
    dispose_all()  # this process lets go of the file, as a separate `diaspora` command would hold none
    with read_only(url) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM etl.validation_result")).scalar_one() > 0
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only"):
            conn.execute(sa.text("CREATE TABLE etl.written_by_a_report (a INTEGER)"))
    assert rows(
        url, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'written_by_a_report'"
    ) == [(0,)]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_load_holding_the_duckdb_file_is_named(loaded):
    database = sa.make_url(loaded.warehouse_url).database
    dispose_all()
    holder = subprocess.Popen(  # another process holds the file for writing, as a running load does
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({database!r}); print('open', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseError, match=r"a load holds it: build the report again"):
            write_validation_report(loaded)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_the_offline_check_sees_a_page_that_fetches(tmp_path):
    """Control: a page that loads its style and script from CDNs, as Great Expectations' Data Docs
    do, counts every attempt as a fetch, although the offline Chromium gets none of them."""
    page = tmp_path / "cdn.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/x.css">'
        '<script src="https://code.jquery.com/jquery.min.js"></script></head><body>'
        '<script>addEventListener("load", function () { document.body.setAttribute("data-fetched",'
        ' String(performance.getEntriesByType("resource").length));'
        ' document.body.setAttribute("data-checked", "yes"); });</script></body></html>'
    )
    assert body_attribute(offline_dom(page), "data-fetched") == "2"
    with pytest.raises(AssertionError):
        assert_self_contained(page.read_text())
