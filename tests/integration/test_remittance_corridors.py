"""The corridor estimates' rules on a small SYNTHETIC warehouse, on both engines, each expected figure
worked out by hand below: linear interpolation between reference years, no estimate outside them,
the three methods' weights, a host without income keeping its stock share, a host poorer than the
origin, the gap against the observed outflow, and the check that refuses estimates that do not
add up to the inflow. (The real data of every country is checked in tests/acceptance.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ReportingCheckFailed
from diaspora.warehouse import mart
from diaspora.warehouse.engine import get_engine
from tests.support.sql import dicts

WB, IMS = 9001, 9002  # release ids
# SYNTHETIC figures. Origin TJK; hosts RUS (rich), AFG (poorer than TJK), TKL (no GDP: imputed).
INFLOW = {2012: 9e5, 2015: 6e5, 2017: 1e6, 2021: 8e5}  # 2012 and 2021: outside the stock's years
STOCK = {("RUS", 2015): 100, ("RUS", 2020): 300, ("AFG", 2015): 50, ("AFG", 2020): 50, ("TKL", 2020): 100}
GDP_PER_HEAD_2017 = {"TJK": 1_000, "RUS": 10_000, "AFG": 500}  # GDP over a population of 1 million
RUS_OUTFLOW_2017 = 500_000


def _release(conn: sa.Connection, release_id: int, source: str, label: str) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO dw.dim_source_release (release_id, source, publisher, dataset, release_label,"
            " url, content_sha256, fetched_at, licence, citation, raw_location) VALUES (:i, :s, 'SYNTHETIC',"
            " 'SYNTHETIC', :l, 'http://127.0.0.1/', :h, :t, 'none', 'none', 'none')"
        ),
        {"i": release_id, "s": source, "l": label, "h": f"{release_id:064d}", "t": datetime.now(UTC)},
    )


def _indicator(conn: sa.Connection, country: str, code: str, year: int, value: float) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO dw.fact_indicator_value (country_code, indicator_code, year, release_id, value)"
            " VALUES (:c, :i, :y, :r, :v)"
        ),
        {"c": country, "i": code, "y": year, "r": WB, "v": value},
    )


@pytest.fixture
def corridors(warehouse_url, make_settings):
    pipeline.prepare_warehouse(make_settings(warehouse_url=warehouse_url))
    with get_engine(warehouse_url).begin() as conn:
        _release(conn, WB, "worldbank_indicators", "WB test")
        _release(conn, IMS, "undesa_migrant_stock", "IMS test")
        for year, usd in INFLOW.items():
            _indicator(conn, "TJK", "BX.TRF.PWKR.CD.DT", year, usd)
        for country, per_head in GDP_PER_HEAD_2017.items():
            _indicator(conn, country, "NY.GDP.MKTP.CD", 2017, per_head * 1e6)
            _indicator(conn, country, "SP.POP.TOTL", 2017, 1e6)
        _indicator(conn, "RUS", "BM.TRF.PWKR.CD.DT", 2017, RUS_OUTFLOW_2017)
        for (host, year), migrants in STOCK.items():
            conn.execute(
                sa.text(
                    "INSERT INTO dw.fact_migrant_stock (origin_code, destination_code, year, sex, release_id,"
                    " migrants) VALUES ('TJK', :d, :y, 'both', :r, :m)"
                ),
                {"d": host, "y": year, "r": IMS, "m": migrants},
            )
        mart.refresh_all(conn)
    return warehouse_url


def _estimates(url: str, year: int) -> dict[tuple[str, str], dict]:
    found = dicts(url, "SELECT * FROM reporting.remittance_corridors WHERE year = :y", y=year)
    return {(row["method"], row["destination_code"]): row for row in found}


def test_interpolated_stocks_and_the_three_methods(corridors):
    got = _estimates(corridors, 2017)
    # 2017 is 2/5 of the way from 2015 to 2020: RUS 100 → 300 gives 180, AFG 50, TKL 0 → 100 gives 40.
    migrants = {"RUS": 180.0, "AFG": 50.0, "TKL": 40.0}
    assert {host: got[("stock_shares", host)]["migrants"] for host in migrants} == migrants
    assert {row["stock_basis"] for row in got.values()} == {"interpolated 2015-2020"}
    inflow = INFLOW[2017]
    # stock shares: 180, 50 and 40 of 270.
    expected = {"RUS": 180 / 270, "AFG": 50 / 270, "TKL": 40 / 270}
    # host income: RUS 180 × 10,000, AFG 50 × 500; TKL has no GDP: it is given the migrant-weighted
    # mean of the others, (1,800,000 + 25,000) / 230, so 40 × 7,934.78 = 317,391.30.
    host_total = 1_800_000 + 25_000 + 40 * (1_825_000 / 230)
    expected_host = {
        "RUS": 1_800_000 / host_total,
        "AFG": 25_000 / host_total,
        "TKL": 40 * 1_825_000 / 230 / host_total,
    }
    # host and origin income: AFG is poorer than TJK (500 < 1,000): its migrants count at 1,000.
    both_total = 1_800_000 + 50_000 + 40 * (1_850_000 / 230)
    expected_both = {
        "RUS": 1_800_000 / both_total,
        "AFG": 50_000 / both_total,
        "TKL": 40 * 1_850_000 / 230 / both_total,
    }
    for method, shares in (
        ("stock_shares", expected),
        ("host_income", expected_host),
        ("host_and_origin_income", expected_both),
    ):
        for host, share in shares.items():
            assert got[(method, host)]["estimated_usd"] == pytest.approx(inflow * share, rel=1e-12), (
                method,
                host,
            )
        assert sum(got[(method, host)]["estimated_usd"] for host in shares) == pytest.approx(inflow, abs=0.01)
    assert [
        got[(m, "TKL")]["income_imputed"] for m in ("stock_shares", "host_income", "host_and_origin_income")
    ] == [False, True, True]
    assert (
        got[("host_income", "RUS")]["corridor_rank"] == 1
        and got[("host_income", "AFG")]["corridor_rank"] == 3
    )
    assert {row["value_kind"] for row in got.values()} == {"model estimate"}
    assert got[("host_income", "RUS")]["income_release"] == "WB test"
    assert got[("stock_shares", "RUS")]["income_release"] is None
    assert got[("stock_shares", "RUS")]["stock_release"] == "IMS test"


def test_reference_years_and_years_without_a_stock(corridors):
    at_reference = _estimates(corridors, 2015)
    # 2015 is a reference year: TKL's 0 migrants give no corridor; no incomes that year, so every
    # method falls back to stock shares (100 and 50 of 150) and says the income was imputed.
    assert {host for _, host in at_reference} == {"RUS", "AFG"}
    for method in ("stock_shares", "host_income", "host_and_origin_income"):
        assert at_reference[(method, "RUS")]["estimated_usd"] == pytest.approx(4e5, rel=1e-12)
        assert at_reference[(method, "RUS")]["stock_basis"] == "UN DESA 2015"
    assert at_reference[("host_income", "AFG")]["income_imputed"] is True
    assert _estimates(corridors, 2012) == {} and _estimates(corridors, 2021) == {}  # outside 2015-2020


def test_the_gap_against_the_observed_outflow(corridors):
    gaps = {
        row["method"]: row
        for row in dicts(
            corridors,
            "SELECT * FROM reporting.remittance_corridor_gaps WHERE country_code = 'RUS' AND year = 2017",
        )
    }
    estimated = INFLOW[2017] * 180 / 270
    assert gaps["stock_shares"]["estimated_outflow_usd"] == pytest.approx(estimated, rel=1e-12)
    assert gaps["stock_shares"]["observed_outflow_usd"] == RUS_OUTFLOW_2017
    assert gaps["stock_shares"]["gap_usd"] == pytest.approx(estimated - RUS_OUTFLOW_2017, rel=1e-12)
    assert gaps["stock_shares"]["gap_pct"] == pytest.approx(
        100 * (estimated / RUS_OUTFLOW_2017 - 1), rel=1e-12
    )
    assert gaps["stock_shares"]["origins_estimated"] == 1
    afghanistan = dicts(
        corridors,
        "SELECT * FROM reporting.remittance_corridor_gaps WHERE country_code = 'AFG'"
        " AND year = 2017 AND method = 'stock_shares'",
    )[0]
    assert afghanistan["observed_outflow_usd"] is None and afghanistan["gap_usd"] is None


def test_estimates_that_do_not_add_up_to_the_inflow_are_refused(corridors):
    with get_engine(corridors).begin() as conn:
        mart.check_table(conn, "mart.remittance_corridors")  # as refreshed: it holds
        conn.exec_driver_sql(
            "UPDATE mart.remittance_corridors SET host_income_usd = host_income_usd + 1"
            " WHERE year = 2017 AND destination_code = 'AFG'"
        )
        with pytest.raises(ReportingCheckFailed, match=r"origin_code=TJK, year=2017, method=host_income"):
            mart.check_table(conn, "mart.remittance_corridors")


def test_pinned_to_the_releases_they_came_from_the_estimates_equal_the_views(corridors):
    """A factsheet pinned to releases reads the corridor views computed from those releases' rows;
    pinned to the current ones, that is exactly what the views show."""
    from diaspora.warehouse.mart import as_of_relations

    relations = as_of_relations({"dw.fact_indicator_value": WB, "dw.fact_migrant_stock": IMS})
    with get_engine(corridors).connect() as conn:
        for view in ("reporting.remittance_corridors", "reporting.remittance_corridor_gaps"):
            listed = ", ".join(conn.execute(sa.text(f"SELECT * FROM {view} LIMIT 0")).keys())
            now = conn.execute(sa.text(f"SELECT {listed} FROM {view} ORDER BY {listed}")).all()
            pinned = conn.execute(
                sa.text(f"SELECT {listed} FROM ({relations[view]}) AS v ORDER BY {listed}")
            ).all()
            assert now and now == pinned, view
