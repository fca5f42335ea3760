"""The World Bank/KNOMAD bilateral remittance matrix source on the REAL 2017 workbook (April 2018
version, read from ``../shared/data/real/``; these tests skip without it) and on copies of it that
a test changes on purpose, each change named and SYNTHETIC where it alters a figure.

Expected figures are computed here with pandas straight from the xlsx, not through the parser.
"""

from __future__ import annotations

import json
from datetime import date
from hashlib import sha256

import numpy as np
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from diaspora import pipeline
from diaspora.countries import resolve_name
from diaspora.errors import ParseError, SourceError
from diaspora.landing import Manifest
from diaspora.sources import get_source
from diaspora.sources.base import ParsedDataset
from diaspora.sources.knomad_bilateral_remittances.extract import release_date
from diaspora.sources.knomad_bilateral_remittances.parse import cell_address
from tests.support import sample_path
from tests.support.knomad import SHEET_2017, XLSX_TYPE, changed_copy, require_knomad_2017

KEY = "knomad_bilateral_remittances"
FACT = "dw.fact_published_remittance"
WORLD = "M49:900"
NOT_ESTIMATED = {("IND", "PAK"), ("PAK", "IND"), ("ISR", "LBN"), ("LBN", "ISR")}  # (receiving, sending)


def land(make_settings, path, **overrides):
    settings = make_settings(knomad_matrix_url=f"file://{path}", **overrides)
    return settings, pipeline.extract(KEY, settings)


def parsed(settings, landing_dir) -> ParsedDataset:
    pipeline.parse(landing_dir, settings)
    manifest = Manifest.read(landing_dir)
    return ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id)


def expected_from_the_xlsx(path) -> pd.DataFrame:
    """Every cell of the published matrix, read with pandas alone: senders down (index), receivers
    across (columns), WORLD row and column included; '-' NaN; US$ = millions × 1,000,000."""
    matrix = pd.read_excel(path, sheet_name=SHEET_2017, header=1, index_col=0, engine="openpyxl")
    matrix.index = matrix.index.map(lambda n: str(n).strip())
    matrix.columns = [str(c).strip() for c in matrix.columns]
    matrix = matrix.loc[: matrix.index[matrix.index == "WORLD"][0]]  # the notes below are not cells
    cells = matrix.stack(future_stack=True).rename("published").reset_index()
    cells.columns = ["sending_name", "receiving_name", "published"]
    cells["not_estimated"] = cells["published"].astype(str).str.strip().eq("-")
    cells["remittances_usd"] = pd.to_numeric(cells["published"].mask(cells["not_estimated"])) * 1_000_000
    return cells


@pytest.fixture(scope="module")
def real_2017():
    return require_knomad_2017()


def test_the_real_2017_matrix_loads_every_cell_exactly(tmp_path, make_settings, real_2017):
    settings, landing_dir = land(make_settings, real_2017)
    dataset = parsed(settings, landing_dir)
    fact = dataset.frames[FACT]
    expected = expected_from_the_xlsx(real_2017)

    names = sorted(set(expected["sending_name"]) - {"WORLD"})
    assert names == sorted(set(expected["receiving_name"]) - {"WORLD"}) and len(names) == 214
    codes = {name: resolve_name(name) for name in names}
    assert None not in codes.values() and len(set(codes.values())) == 214  # one country per name
    assert codes["Kosovo"] == "XKX" and codes["Channel Islands"] == "CHI" and codes["Korea, Rep."] == "KOR"
    codes["WORLD"] = WORLD
    expected["receiving_code"] = expected["receiving_name"].map(codes)
    expected["sending_code"] = expected["sending_name"].map(codes)

    assert len(expected) == 215 * 215 == 46_225  # 214 × 214 cells, the WORLD row and column, the corner
    assert len(fact) == len(expected) and set(fact["year"]) == {2017}
    merged = fact.merge(expected, on=["receiving_code", "sending_code"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    same = np.isclose(
        merged["remittances_usd_x"], merged["remittances_usd_y"], rtol=0, atol=0, equal_nan=True
    )
    assert same.all()  # every cell exactly, zeros included
    assert (fact["remittances_usd"] == 0).sum() == (expected["remittances_usd"] == 0).sum() > 30_000

    not_estimated = fact[fact["estimate_status"] == "not_estimated"]
    assert set(zip(not_estimated.receiving_code, not_estimated.sending_code, strict=True)) == NOT_ESTIMATED
    assert not_estimated["remittances_usd"].isna().all() and fact["remittances_usd"].isna().sum() == 4
    totals = fact[fact["estimate_status"] == "total"]
    assert len(totals) == 214 + 214 + 1
    assert ((totals.receiving_code == WORLD) | (totals.sending_code == WORLD)).all()
    assert dataset.frames["dw.dim_country"].empty and fact["unresolved_name"].isna().all()


def test_tajikistan_receives_two_thirds_of_its_remittances_from_russia(tmp_path, make_settings, real_2017):
    settings, landing_dir = land(make_settings, real_2017)
    fact = parsed(settings, landing_dir).frames[FACT].set_index(["receiving_code", "sending_code"])
    total = fact.loc[("TJK", WORLD), "remittances_usd"]
    from_russia = fact.loc[("TJK", "RUS"), "remittances_usd"]
    assert round(total / 1e6, 1) == 2219.7 and round(from_russia / 1e6, 2) == 1686.57
    assert round(100 * from_russia / total, 1) == 76.0
    assert round(fact.loc[("TJK", "KAZ"), "remittances_usd"] / 1e6, 1) == 141.1
    assert fact.loc[("TJK", WORLD), "estimate_status"] == "total"
    # The world total (the corner) is the sum of the receivers' totals.
    corner = fact.loc[(WORLD, WORLD), "remittances_usd"]
    receivers = fact.xs(WORLD, level="sending_code")["remittances_usd"].drop(WORLD).sum()
    assert corner == pytest.approx(receivers, rel=1e-12)


def test_world_totals_equal_the_sum_of_their_cells_but_for_israel_and_lebanon(
    tmp_path, make_settings, real_2017
):
    """Checked on the real workbook: every WORLD total equals the sum of its cells up to float
    rounding (< 0.001 US$), except the receivers Israel (+1.20 m) and Lebanon (+0.84 m), whose
    totals keep a share of the corridor between them that the matrix marks '-'."""
    settings, landing_dir = land(make_settings, real_2017)
    fact = parsed(settings, landing_dir).frames[FACT]
    gaps = fact.dropna(subset=["total_gap_usd"]).set_index(["receiving_code", "sending_code"])[
        "total_gap_usd"
    ]
    assert len(gaps) == 429
    assert round(gaps[("ISR", WORLD)] / 1e6, 2) == 1.20 and round(gaps[("LBN", WORLD)] / 1e6, 2) == 0.84
    assert gaps.drop([("ISR", WORLD), ("LBN", WORLD)]).abs().max() < 1e-3
    assert fact.loc[fact["estimate_status"] != "total", "total_gap_usd"].isna().all()


def test_the_release_is_the_edition_the_title_names(tmp_path, make_settings, real_2017):
    settings, landing_dir = land(make_settings, real_2017)
    about = parsed(settings, landing_dir).release
    assert Manifest.read(landing_dir).release_label == about.label == "KNOMAD 2017 (April 2018 version)"
    assert about.licence == "CC BY 4.0"
    assert "Bilateral Remittance Matrix 2017" in about.citation and "Ratha" in about.citation
    assert about.details["estimate_year"] == 2017 and about.details["not_estimated"] == 4
    assert get_source(KEY).release_date(about.label) == date(2018, 4, 1)


def test_release_dates_follow_the_version_or_else_the_end_of_the_estimate_year():
    assert release_date("KNOMAD 2017 (April 2018 version)") == date(2018, 4, 1)
    assert release_date("KNOMAD 2021 (December 2022 version)") == date(2022, 12, 1)
    assert release_date("KNOMAD 2018") == date(2018, 12, 31)
    assert release_date(None) is None and release_date("IMS 2024") is None


def _rename_header(rows):
    rows[1][0] = "sending (across) / receiving (down)"


def test_a_workbook_without_the_header_is_refused_naming_it(tmp_path, make_settings, real_2017):
    path = changed_copy(tmp_path / "matrix.xlsx", _rename_header)
    settings, landing_dir = land(make_settings, path)
    assert Manifest.read(landing_dir).release_label is None  # landed all the same
    with pytest.raises(
        ParseError, match=r"no sheet has the header 'receiving \(across\) / sending \(down\)'"
    ):
        pipeline.parse(landing_dir, settings)


def test_a_title_without_a_year_is_refused_naming_it(tmp_path, make_settings, real_2017):
    def no_year(rows):
        rows[0][0] = "Bilateral Remittance Estimates using Migrant Stocks (millions of US$)"

    settings, landing_dir = land(make_settings, changed_copy(tmp_path / "matrix.xlsx", no_year))
    with pytest.raises(ParseError, match=r"the title names no year the estimates are for"):
        pipeline.parse(landing_dir, settings)


def test_a_text_cell_is_refused_naming_its_cell_row_and_column(tmp_path, make_settings, real_2017):
    where = {}

    def text_cell(rows):
        row = next(i for i, r in enumerate(rows) if r[0] == "Russian Federation")
        column = [str(c).strip() for c in rows[1]].index("Tajikistan")
        rows[row][column] = "n/a"
        where["cell"] = f"{get_column_letter(column + 1)}{row + 1}"

    settings, landing_dir = land(make_settings, changed_copy(tmp_path / "matrix.xlsx", text_cell))
    with pytest.raises(ParseError) as refused:
        pipeline.parse(landing_dir, settings)
    message = str(refused.value)
    assert f"sheet '{SHEET_2017}'" in message
    assert f"cell {where['cell']} (sending 'Russian Federation', receiving 'Tajikistan') is 'n/a'" in message
    assert cell_address(170, 188) == "GG171"  # the parser's own A1 addresses, beyond column Z


def test_an_unknown_name_loads_as_unmapped_with_a_warning(tmp_path, make_settings, real_2017):
    """SYNTHETIC: the receiver 'Kosovo' renamed 'Newland', a name no reference file knows."""

    def unknown(rows):
        rows[1][[str(c).strip() for c in rows[1]].index("Kosovo")] = "Newland"

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    settings, landing_dir = land(
        make_settings, changed_copy(tmp_path / "matrix.xlsx", unknown), warehouse_url=url
    )
    pipeline.prepare_warehouse(settings)
    dataset = parsed(settings, landing_dir)
    areas = dataset.frames["dw.dim_country"]
    assert areas.to_dict("records") == [
        {"country_code": "KNOMAD:Newland", "area_type": "unmapped", "name": "Newland", "is_aggregate": False}
    ]
    fact = dataset.frames[FACT]
    assert (fact["unresolved_name"] == "receiving 'Newland'").sum() == 215  # 214 senders and WORLD

    result = pipeline.validate(landing_dir, settings)  # a warning, not a failure
    assert "1 warning expectation(s) failed" in result.message
    validation = settings.parsed_dir / KEY / Manifest.read(landing_dir).landing_id / "validation"
    (warning,) = json.loads((validation / "warnings.json").read_text())
    assert warning["column"] == "unresolved_name" and warning["flag"] == "unmapped_code"
    assert warning["severity"] == "warning" and warning["unexpected_count"] == 215
    loaded = pipeline.load(landing_dir, settings)
    assert loaded.rows == 46_225
    from tests.support.sql import rows

    assert rows(
        url,
        "SELECT c.area_type, count(*), min(f.quality_flags) FROM dw.fact_published_remittance AS f"
        " JOIN dw.dim_country AS c ON c.country_code = f.receiving_code"
        " WHERE f.receiving_code = 'KNOMAD:Newland' GROUP BY c.area_type",
    ) == [("unmapped", 215, "unmapped_code")]


def test_a_web_page_instead_of_the_workbook_is_refused_naming_the_url_and_setting(httpserver, make_settings):
    httpserver.expect_request("/matrix.xlsx").respond_with_data(
        "<html>moved</html>", content_type="text/html"
    )
    settings = make_settings(knomad_matrix_url=httpserver.url_for("/matrix.xlsx"))
    with pytest.raises(
        SourceError, match=r"/matrix\.xlsx: expected .* \.xlsx workbook.*DIASPORA_KNOMAD_MATRIX_URL"
    ):
        pipeline.extract(KEY, settings)


def test_the_workbook_is_fetched_over_http_and_landed_unchanged(httpserver, make_settings):
    sample = sample_path(KEY)
    httpserver.expect_request("/bilateralremittancematrix2017-Apr2018.xlsx").respond_with_data(
        sample.read_bytes(), content_type=XLSX_TYPE
    )
    settings = make_settings(
        knomad_matrix_url=httpserver.url_for("/bilateralremittancematrix2017-Apr2018.xlsx")
    )
    manifest = Manifest.read(pipeline.extract(KEY, settings))
    (landed,) = manifest.files
    assert manifest.path_of(landed.name).read_bytes() == sample.read_bytes()
    assert manifest.release_label == "KNOMAD 2017 (April 2018 version)"


def test_the_sample_is_an_extract_of_the_real_workbook_pinned_by_its_checksum(tmp_path, make_settings):
    sample = sample_path(KEY)
    pinned = json.loads((sample.parent / "SNAPSHOT.json").read_text())
    assert sha256(sample.read_bytes()).hexdigest() == pinned["sha256"][sample.name]
    assert pinned["label"] == "extract of the real 2017 workbook" and pinned["licence"] == "CC BY 4.0"
    settings, landing_dir = land(make_settings, sample)
    dataset = parsed(settings, landing_dir)
    fact = dataset.frames[FACT].set_index(["receiving_code", "sending_code"])
    assert len(fact) == 16 * 16 and dataset.release.label == "KNOMAD 2017 (April 2018 version)"
    assert {"TJK", "RUS", "KAZ", "UKR", "KGZ", "UZB", "USA", "DEU", "IND", "PAK", "XKX", "CHI"} <= set(
        fact.index.get_level_values(0)
    )
    assert set(fact.index[fact["estimate_status"] == "not_estimated"]) == NOT_ESTIMATED
    # The published totals over every country, not sums of the extract.
    assert round(fact.loc[("TJK", WORLD), "remittances_usd"] / 1e6, 1) == 2219.7
    assert (fact["total_gap_usd"].dropna() >= -1e-3).all()
    assert dataset.release.details["notes"][-1].startswith(
        "Extract made by the diaspora data warehouse project"
    )


def test_the_sample_matches_the_real_workbook_cell_for_cell(real_2017):
    sample = expected_from_the_xlsx(sample_path(KEY)).set_index(["receiving_name", "sending_name"])
    real = expected_from_the_xlsx(real_2017).set_index(["receiving_name", "sending_name"])
    assert len(sample) == 256
    pd.testing.assert_series_equal(
        sample["remittances_usd"], real.loc[sample.index, "remittances_usd"], check_exact=True
    )
