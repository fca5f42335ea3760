"""UN DESA workbook parsing on workbooks built in the real layout (SYNTHETIC figures)."""

from __future__ import annotations

import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.sources.base import ParsedDataset
from diaspora.sources.undesa_migrant_stock.layout import SEXES
from tests.support.ims_workbook import (
    IMS_2020,
    IMS_2020_YEARS,
    IMS_2024,
    IMS_2024_YEARS,
    YEARS,
    Edition,
    Row,
    band_row,
    title_rows,
    write_workbook,
)

RUS, TJK, UZB, OTHER, WORLD = (
    (643, "Russian Federation"),
    (762, "Tajikistan*"),
    (860, "Uzbekistan"),
    (2003, "Other"),
    (900, "World"),
)
CENTRAL_ASIA, ANZ = (5500, "Central Asia"), (927, "Australia/New Zealand")


def synthetic(base: int) -> tuple[dict[int, float], dict[int, float]]:
    female = {year: float(base + i * 10) for i, year in enumerate(YEARS)}
    male = {year: float(base * 2 + i * 10) for i, year in enumerate(YEARS)}
    return female, male


def sample_rows() -> list[Row]:
    """SYNTHETIC: a destination with two origins, a residual and its total; an aggregate; a
    duplicated aggregate row; a '..' year."""
    tjk_f, tjk_m = synthetic(1000)
    uzb_f, uzb_m = synthetic(500)
    oth_f, oth_m = synthetic(7)
    tot_f = {y: tjk_f[y] + uzb_f[y] + oth_f[y] for y in YEARS}
    tot_m = {y: tjk_m[y] + uzb_m[y] + oth_m[y] for y in YEARS}
    uzb_f[1990] = None  # not available: '..'
    uzb_m[1990] = None
    tot_f[1990] = tjk_f[1990] + oth_f[1990]  # the total of the available origins
    tot_m[1990] = tjk_m[1990] + oth_m[1990]
    anz_f, anz_m = synthetic(30)
    return [
        Row.by_sex(RUS, WORLD, tot_f, tot_m, coverage="Both sexes", data_type="B"),
        Row.by_sex(RUS, TJK, tjk_f, tjk_m, coverage="Both sexes", data_type="B"),
        Row.by_sex(RUS, UZB, uzb_f, uzb_m, coverage="Both sexes", data_type="B"),
        Row.by_sex(RUS, OTHER, oth_f, oth_m, coverage="Both sexes", data_type="B"),
        Row.by_sex(CENTRAL_ASIA, TJK, tjk_f, tjk_m),
        Row.by_sex(ANZ, TJK, anz_f, anz_m),
        Row.by_sex(ANZ, TJK, anz_f, anz_m),  # the workbook lists Australia/New Zealand twice
    ]


def land(tmp_path, make_settings, rows, **kwargs) -> tuple:
    path = write_workbook(
        tmp_path / "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx", rows, **kwargs
    )
    settings = make_settings(undesa_ims_url=f"file://{path}")
    return settings, pipeline.extract("undesa_migrant_stock", settings)


def parsed_facts(settings, landing_dir) -> dict[str, pd.DataFrame]:
    pipeline.parse(landing_dir, settings)
    manifest = Manifest.read(landing_dir)
    return ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id).frames


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_parse_real_layout(tmp_path, make_settings, engine):
    settings, landing_dir = land(tmp_path, make_settings, sample_rows())
    settings = make_settings(excel_engine=engine)
    frames = parsed_facts(settings, landing_dir)
    facts = frames["dw.fact_migrant_stock"]

    assert Manifest.read(landing_dir).release_label == "IMS 2024"
    assert len(facts) == 6 * 24  # duplicate dropped; 24 year × sex values per row
    assert set(facts["year"]) == set(YEARS) and set(facts["sex"]) == set(SEXES)
    # footnote marker stripped, code resolved to ISO3; aggregates and residuals keyed by M49
    assert set(facts["origin_code"]) == {"TJK", "UZB", "M49:2003", "M49:900"}
    assert set(facts["destination_code"]) == {"RUS", "M49:5500", "M49:927"}
    uzb_1990 = facts[(facts.origin_code == "UZB") & (facts.year == 1990)]
    assert uzb_1990["migrants"].isna().all()  # '..' is NULL, never 0
    tjk = facts[(facts.origin_code == "TJK") & (facts.destination_code == "RUS") & (facts.year == 2024)]
    assert dict(zip(tjk.sex, tjk.migrants, strict=True)) == {"female": 1070.0, "male": 2070.0, "both": 3140.0}
    assert set(tjk["data_type"]) == {"B"}
    both = facts[facts.sex == "both"]["sex_gap"].dropna()
    assert len(both) > 0 and (both == 0).all()
    totals = facts[(facts.origin_code == "M49:900")]["destination_total_gap"]
    assert totals.notna().all() and (totals.abs() < 1e-12).all()
    residual = frames["dw.dim_country"]
    assert residual.to_dict("records")[0] | {} == {
        "country_code": "M49:2003",
        "area_type": "residual",
        "m49": 2003,
        "name": "Other",
        "is_aggregate": False,
    }


def test_renamed_column_fails_with_its_name(tmp_path, make_settings):
    header = IMS_2024.header
    header[4] = "Destination code"
    settings, landing_dir = land(tmp_path, make_settings, sample_rows(), header=header)
    with pytest.raises(
        ParseError, match="column 5 should be 'Location code of destination' but is 'Destination code'"
    ):
        parsed_facts(settings, landing_dir)


def test_missing_year_column_fails_with_its_position(tmp_path, make_settings):
    header = IMS_2024.header
    header[7 + 8 + 3] = 2006
    settings, landing_dir = land(tmp_path, make_settings, sample_rows(), header=header)
    with pytest.raises(ParseError, match=r"should be year 2005 \(male\) but is '2006'"):
        parsed_facts(settings, landing_dir)


def test_text_in_a_count_cell_names_the_row_and_column(tmp_path, make_settings):
    rows = sample_rows()
    rows[1].values[("male", 2010)] = "n/a"
    settings, landing_dir = land(tmp_path, make_settings, rows)
    with pytest.raises(
        ParseError, match=r"column '2010 \(male\)' has values that are not numbers at Excel rows \[13\]"
    ):
        parsed_facts(settings, landing_dir)


def test_conflicting_duplicate_rows_fail(tmp_path, make_settings):
    rows = sample_rows()
    rows[-1].values[("both", 2024)] = 1.0
    settings, landing_dir = land(tmp_path, make_settings, rows)
    with pytest.raises(
        ParseError, match=r"repeat a destination × origin pair with different values: \[\(927, 762\)\]"
    ):
        parsed_facts(settings, landing_dir)


def test_a_web_page_instead_of_the_workbook_is_refused(tmp_path, make_settings):
    page = tmp_path / "ims.xlsx"
    page.write_text("<html>Access denied</html>")
    settings = make_settings(undesa_ims_url=f"file://{page}")
    from diaspora.errors import SourceError

    with pytest.raises(SourceError, match="expected the UN DESA .* as an .xlsx workbook.*User-Agent"):
        pipeline.extract("undesa_migrant_stock", settings)


# --- editions: what the workbook says about itself --------------------------------------------


def rows_with_totals(years: tuple[int, ...]) -> list[Row]:
    """SYNTHETIC: one destination whose total row is the sum of its two origins, every year."""
    tjk_f = {y: 100.0 + i for i, y in enumerate(years)}
    tjk_m = {y: 200.0 + i for i, y in enumerate(years)}
    uzb_f = {y: 10.0 for y in years}
    uzb_m = {y: 20.0 for y in years}
    total_f = {y: tjk_f[y] + uzb_f[y] for y in years}
    total_m = {y: tjk_m[y] + uzb_m[y] for y in years}
    return [
        Row.by_sex(RUS, WORLD, total_f, total_m, years=years, data_type="B R", notes="3"),
        Row.by_sex(RUS, TJK, tjk_f, tjk_m, years=years, data_type="B R", notes="3"),
        Row.by_sex(RUS, UZB, uzb_f, uzb_m, years=years, data_type="B R", notes="3"),
    ]


def land_edition(tmp_path, make_settings, edition: Edition, rows, name="migrant_stock.xlsx", **kwargs):
    path = write_workbook(tmp_path / name, rows, edition=edition, **kwargs)
    settings = make_settings(undesa_ims_url=f"file://{path}")
    return settings, pipeline.extract("undesa_migrant_stock", settings)


def test_the_2020_edition_parses_in_its_own_layout(tmp_path, make_settings):
    settings, landing_dir = land_edition(tmp_path, make_settings, IMS_2020, rows_with_totals(IMS_2020_YEARS))
    pipeline.parse(landing_dir, settings)
    parsed = ParsedDataset.read(
        settings.parsed_dir / "undesa_migrant_stock" / Manifest.read(landing_dir).landing_id
    )
    facts = parsed.frames["dw.fact_migrant_stock"]

    assert Manifest.read(landing_dir).release_label == "IMS 2020"  # from the title, not the file name
    assert sorted(set(facts["year"])) == list(IMS_2020_YEARS) and len(facts) == 3 * 3 * 7
    assert set(facts["data_type"]) == {"B R"}  # 'Type of data of destination'
    assert facts["coverage"].isna().all()  # the 2020 layout has no coverage column
    tjk = facts[(facts.origin_code == "TJK") & (facts.year == 2020)]
    assert dict(zip(tjk.sex, tjk.migrants, strict=True)) == {"female": 106.0, "male": 206.0, "both": 312.0}
    assert parsed.release.label == "IMS 2020"
    assert parsed.release.licence == "CC BY 3.0 IGO"
    assert parsed.release.citation.endswith("(2020). International Migrant Stock 2020.")
    assert parsed.release.details == {
        "edition": 2020,
        "reference_years": list(IMS_2020_YEARS),
        "layout": "IMS 2020",
    }


def test_an_edition_that_only_adds_a_reference_year_parses_without_a_code_change(tmp_path, make_settings):
    years = (*IMS_2024_YEARS, 2028)
    edition = Edition(2028, years, IMS_2024.layout)
    settings, landing_dir = land_edition(tmp_path, make_settings, edition, rows_with_totals(years))
    frames = parsed_facts(settings, landing_dir)
    facts = frames["dw.fact_migrant_stock"]

    assert Manifest.read(landing_dir).release_label == "IMS 2028"
    assert sorted(set(facts["year"])) == list(years) and len(facts) == 3 * 3 * 9
    release_date = pipeline.get_source("undesa_migrant_stock").release_date("IMS 2028")
    assert release_date.year == 2028


def refused(tmp_path, make_settings, **kwargs) -> str:
    settings, landing_dir = land_edition(
        tmp_path, make_settings, IMS_2024, rows_with_totals(IMS_2024_YEARS), **kwargs
    )
    with pytest.raises(ParseError) as error:
        pipeline.parse(landing_dir, settings)
    assert "not in a readable layout" in str(error.value) or "title" in str(error.value)
    return str(error.value)


def test_a_missing_column_is_named(tmp_path, make_settings):
    header = IMS_2024.header
    del header[2]  # Coverage
    message = refused(tmp_path, make_settings, header=header, bands=band_row(IMS_2024)[1:])
    assert message.endswith(
        "is not in a readable layout: column 'Coverage' (column 3 of the IMS 2024 layout) is missing"
    )


def test_moved_columns_are_named(tmp_path, make_settings):
    header = IMS_2024.header
    header[2], header[3] = header[3], header[2]  # Data type before Coverage
    message = refused(tmp_path, make_settings, header=header)
    assert "column 'Data type' is column 3; in the IMS 2024 layout it is column 4" in message
    assert "column 'Coverage' is column 4; in the IMS 2024 layout it is column 3" in message


def test_a_year_block_out_of_order_is_named(tmp_path, make_settings):
    header = IMS_2024.header
    header[7 + 1], header[7 + 2] = header[7 + 2], header[7 + 1]  # both sexes: 1990, 2000, 1995, …
    message = refused(tmp_path, make_settings, header=header)
    assert "column 10: year 1995 (both) is out of order after 2000" in message


def test_a_missing_sex_band_is_named(tmp_path, make_settings):
    message = refused(tmp_path, make_settings, bands=band_row(IMS_2024, sexes=("both", "male")))
    assert "no sex band labelled 'Females' above the year columns" in message
    assert "bands found: Both sexes at column 8, Males at column 16" in message


def test_a_workbook_without_an_edition_in_its_title_is_refused_but_landed(tmp_path, make_settings):
    titles = [row for row in title_rows(IMS_2024) if not any("International Migrant Stock" in c for c in row)]
    settings, landing_dir = land_edition(
        tmp_path, make_settings, IMS_2024, rows_with_totals(IMS_2024_YEARS), titles=titles
    )
    assert Manifest.read(landing_dir).release_label is None  # landed: a re-parse needs no download
    with pytest.raises(ParseError, match="must name one edition.*editions named: none"):
        pipeline.parse(landing_dir, settings)


def test_a_title_that_disagrees_with_the_last_reference_year_is_refused(tmp_path, make_settings):
    titles = title_rows(Edition(2028, IMS_2024_YEARS, IMS_2024.layout))
    message = refused(tmp_path, make_settings, titles=titles)
    assert "the title names International Migrant Stock 2028 but the last reference year" in message
