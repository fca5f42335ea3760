"""The factsheet on paper: no printed page ends with a section heading whose content went to the
next page, wherever the page breaks fall. Printed by a real headless Chromium, read back per page
from the PDF by the position of each line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diaspora.factsheet import write_factsheet
from diaspora.factsheet_data import collect
from diaspora.printing import print_pdfs
from diaspora.warehouse.engine import get_engine
from tests.support.browser import chromium, heading_texts, pages_ending_with, pdf_page_lines
from tests.support.samples import load_samples, sample_settings

# The layout does not depend on the engine: DuckDB only.
pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)

SPACER = '<div data-spacer style="height: {mm}mm"></div>'


@pytest.fixture
def tajikistan(make_settings, warehouse_url, tmp_path) -> Path:
    """The Tajikistan factsheet of the bundled samples, as HTML."""
    chromium()  # skips (or fails under DIASPORA_REQUIRE_CHROMIUM=1) before loading anything
    settings = make_settings(warehouse_url=warehouse_url, **sample_settings())
    load_samples(settings)
    with get_engine(warehouse_url).connect() as conn:
        facts = collect(conn, "TJK", "EEA")
    return Path(write_factsheet(facts, tmp_path / "TJK")["html"])


def without(page_html: str, pattern: str) -> str:
    """The page with the CSS declarations matching ``pattern`` taken out of its style sheet."""
    head, style_end, rest = page_html.partition("</style>")
    return re.sub(pattern, "", head) + style_end + rest


def shifted(page_html: str, folder: Path, name: str, steps: range) -> list[Path]:
    """The page with a spacer of each height (mm) before its content: each puts the page breaks at
    another place in it."""
    folder.mkdir(exist_ok=True)
    pages = []
    for mm in steps:
        path = folder / f"{name}-{mm:03d}mm.html"
        path.write_text(page_html.replace('<p class="lead">', SPACER.format(mm=mm) + '<p class="lead">', 1))
        pages.append(path)
    return pages


def test_no_page_of_the_tajikistan_factsheet_ends_with_a_heading(tajikistan):
    page_html = tajikistan.read_text()
    titles = heading_texts(page_html)
    assert {"Remittances", "Emigrants", "Refugees and asylum seekers", "Diaspora engagement"} <= set(titles)

    (pdf,) = print_pdfs([tajikistan])
    pages = pdf_page_lines(pdf)

    assert 2 <= len(pages) <= 4 and all(pages)
    assert pages_ending_with(pdf, titles) == []
    # Each heading is printed on the page of the first block after it.
    where = {title: n for n, lines in enumerate(pages) for title in titles if title in lines}
    assert set(where) == set(titles), set(titles) - set(where)
    first_blocks = {"Emigrants": "Emigrants, 2024", "Refugees and asylum seekers": "Refugees from Tajikistan"}
    for title, block in first_blocks.items():
        assert any(line.startswith(block) for line in pages[where[title]]), (title, pages[where[title]])


def test_headings_stay_with_their_content_wherever_the_pages_break(tajikistan, tmp_path):
    page_html = tajikistan.read_text()
    titles = heading_texts(page_html)
    avoid_between = r"(?:page-)?break-(?:after|before):\s*avoid;"
    # A spacer 0-264 mm high moves the page breaks over a whole A4 page of content (269 mm). The
    # spans of spacer height that strand a heading are as high as the block after it (15 mm or
    # more: a row of cards, a table): 8 mm steps (12 for the two checks below) miss none.
    shipped = shifted(page_html, tmp_path / "variants", "shipped", range(0, 270, 8))
    # Engines that ignore "avoid" between siblings (older ones, Firefox): the .lead-in blocks alone
    # must hold each heading to its first block.
    lead_in_only = shifted(
        without(page_html, avoid_between), tmp_path / "variants", "lead-in-only", range(0, 270, 12)
    )
    # Control: with no rule at all, some of these pages do end with a heading (the check sees it).
    bare = without(page_html, r"(?:page-)?break-(?:after|before|inside):\s*avoid;")
    unprotected = shifted(bare, tmp_path / "variants", "bare", range(0, 270, 12))

    printed = {path.stem: path for path in print_pdfs(shipped + lead_in_only + unprotected)}

    assert len(printed) == len(shipped) + len(lead_in_only) + len(unprotected)
    for variant in shipped + lead_in_only:
        assert pages_ending_with(printed[variant.stem], titles) == []
    assert [f for variant in unprotected for f in pages_ending_with(printed[variant.stem], titles)]
