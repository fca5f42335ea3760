"""UN DESA validation and dated country groups, on workbooks in the real layout (SYNTHETIC)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.countries import country_groups
from diaspora.errors import ConfigError, ValidationFailed
from diaspora.warehouse.engine import get_engine
from tests.support.ims_workbook import Row, write_workbook
from tests.support.sql import scalar
from tests.unit.sources.test_undesa_migrant_stock import RUS, TJK, WORLD, sample_rows, synthetic


def run(tmp_path, make_settings, warehouse_url, rows):
    path = write_workbook(tmp_path / "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx", rows)
    settings = make_settings(undesa_ims_url=f"file://{path}", warehouse_url=warehouse_url)
    return pipeline.run_source("undesa_migrant_stock", settings)


def test_consistent_workbook_loads(tmp_path, make_settings, warehouse_url):
    result = run(tmp_path, make_settings, warehouse_url, sample_rows())
    assert result["load"]["rows"] == 6 * 24
    assert scalar(warehouse_url, "SELECT name FROM dw.dim_country WHERE country_code = 'M49:2003'") == "Other"


def test_inconsistent_workbook_fails_each_check_and_loads_nothing(tmp_path, make_settings, warehouse_url):
    rows = sample_rows()
    rows[1].values[("both", 2015)] += 5  # male + female != both
    rows[0].values[("both", 2020)] += 1000  # destination total != sum over origins
    rows[2].values[("female", 2024)] = -3  # negative count
    rows.append(Row.by_sex((9998, "Atlantis"), TJK, *synthetic(1)))  # a code that resolves to nothing

    with pytest.raises(ValidationFailed) as error:
        run(tmp_path, make_settings, warehouse_url, rows)

    message = str(error.value)
    assert "failed 3 critical expectation(s)" in message
    assert "[critical] expect_column_values_to_be_between on sex_gap" in message
    assert "[critical] expect_column_values_to_be_between on destination_total_gap" in message
    assert "[critical] expect_column_values_to_be_between on migrants (min_value=0" in message
    assert "UZB · RUS · 2024 · female = -3.0" in message  # the row's key and its value
    assert "[warning] expect_column_values_to_be_null on unresolved_location" in message
    assert "'destination 9998 Atlantis' × 24" in message  # the code and its row count
    assert scalar(warehouse_url, "SELECT count(*) FROM dw.fact_migrant_stock") == 0
    with get_engine(warehouse_url).connect() as conn:
        failed = conn.execute(
            sa.text("SELECT column_name, severity FROM etl.validation_result WHERE NOT success")
        ).all()
    assert sorted(failed) == [
        ("destination_total_gap", "critical"),
        ("migrants", "critical"),
        ("sex_gap", "critical"),
        ("unresolved_location", "warning"),
    ]


def test_an_unknown_location_code_loads_as_unmapped_and_warns(
    tmp_path, make_settings, warehouse_url, alert_webhook
):
    rows = sample_rows()
    rows.append(Row.by_sex((9998, "Atlantis"), TJK, *synthetic(1)))  # in no reference file
    make_settings(alert_webhook_url=alert_webhook.url)

    result = run(tmp_path, make_settings, warehouse_url, rows)

    assert result["load"]["rows"] == 7 * 24
    assert (
        scalar(
            warehouse_url,
            "SELECT area_type || ' ' || name FROM dw.dim_country WHERE country_code = 'M49:9998'",
        )
        == "unmapped Atlantis"
    )
    assert (
        scalar(
            warehouse_url,
            "SELECT count(*) FROM dw.fact_migrant_stock"
            " WHERE destination_code = 'M49:9998' AND quality_flags = 'unmapped_code'",
        )
        == 24
    )
    (alert,) = alert_webhook.problems
    assert alert["expectations"][0]["values"] == [["destination 9998 Atlantis", 24]]


def test_group_membership_follows_dates(tmp_path, make_settings, warehouse_url):
    """The United Kingdom counts in the EU until 31 January 2020, Croatia from 1 July 2013."""
    gbr, hrv = (826, "United Kingdom"), (191, "Croatia")
    female, male = synthetic(100)
    rows = [
        Row.by_sex(WORLD, TJK, *synthetic(10_000)),
        Row.by_sex(gbr, TJK, female, male),
        Row.by_sex(hrv, TJK, female, male),
        Row.by_sex(RUS, TJK, female, male),
    ]
    run(tmp_path, make_settings, warehouse_url, rows)
    eu = dict(
        get_engine(warehouse_url)
        .connect()
        .execute(
            sa.text(
                "SELECT year, migrants FROM reporting.emigrants_in_group"
                " WHERE origin_code = 'TJK' AND group_code = 'EU' AND sex = 'both'"
            )
        )
        .all()
    )
    both = {year: female[year] + male[year] for year in female}
    assert eu[2010] == both[2010]  # the United Kingdom only
    assert eu[2015] == 2 * both[2015]  # and Croatia
    assert eu[2020] == both[2020]  # Croatia only: the United Kingdom left before mid-2020
    assert eu[2024] == both[2024]
    eaeu_2024 = scalar(
        warehouse_url,
        "SELECT migrants FROM reporting.emigrants_in_group WHERE origin_code = 'TJK'"
        " AND group_code = 'EAEU' AND sex = 'both' AND year = 2024",
    )
    assert eaeu_2024 == both[2024]  # Russia
    assert (
        scalar(
            warehouse_url,
            "SELECT count(*) FROM reporting.emigrants_in_group WHERE group_code = 'EAEU' AND year = 2010",
        )
        == 0
    )  # the EAEU began in 2015


def test_group_file_errors_name_group_and_country(tmp_path):
    bad = tmp_path / "groups.yml"
    bad.write_text("groups:\n  EU:\n    name: European Union\n    members:\n      XYZ: {from: 2000-01-01}\n")
    with pytest.raises(ConfigError, match="group EU, member XYZ: unknown country code"):
        country_groups(bad)
    bad.write_text(
        "groups:\n  EU:\n    name: EU\n    members:\n      FRA: {from: 2000-01-01, to: 1999-01-01}\n"
    )
    with pytest.raises(ConfigError, match="member FRA: 'to' 1999-01-01 is before 'from' 2000-01-01"):
        country_groups(bad)
