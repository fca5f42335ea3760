"""The corridor estimates' rules on a small SYNTHETIC warehouse, on both engines, each expected figure
worked out by hand below: linear interpolation between reference years, the last stock held after
them and no estimate before them, the published method's weights (incomes per head in PPP, the
origin's as the floor, the gap raised to the exponent of reference/remittance_corridors.yml), a host
without income keeping its stock share, an origin without income falling back to stock shares, a
corridor the publisher does not estimate, Kosovo borrowing Serbia's stock, the gap against the
observed outflow, and the check that refuses estimates that do not add up to the inflow. (The real
data of every country is checked in tests/acceptance and tests/integration/test_published_remittances.py.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.errors import ReportingCheckFailed
from diaspora.warehouse import mart
from diaspora.warehouse.engine import get_engine
from tests.support.sql import dicts, insert_release

WB, IMS = 9001, 9002  # release ids
PPP = "NY.GDP.PCAP.PP.KD"
# SYNTHETIC figures. Origin TJK; hosts RUS (rich), AFG (poorer than TJK), TKL (no income: imputed).
INFLOW = {2012: 9e5, 2015: 6e5, 2017: 1e6, 2021: 8e5}  # 2012: before the stock's years; 2021: after
STOCK = {("RUS", 2015): 100, ("RUS", 2020): 300, ("AFG", 2015): 50, ("AFG", 2020): 50, ("TKL", 2020): 100}
PPP_PER_HEAD_2017 = {"TJK": 1_000, "RUS": 10_000, "AFG": 500}
RUS_OUTFLOW_2017 = 500_000
# India's emigrants in Pakistan (a corridor the publisher does not estimate) and the Emirates; India
# has no income in this warehouse. Kosovo has no stock of its own: UN DESA counts it within Serbia.
OTHER_STOCK = {("IND", "PAK"): 100, ("IND", "ARE"): 100, ("SRB", "DEU"): 60, ("SRB", "AUT"): 40}
OTHER_INFLOW_2017 = {"IND": 1e6, "XKX": 5e5}


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
        insert_release(conn, WB, "worldbank_indicators", "WB test", "SYNTHETIC")
        insert_release(conn, IMS, "undesa_migrant_stock", "IMS test", "SYNTHETIC")
        for year, usd in INFLOW.items():
            _indicator(conn, "TJK", "BX.TRF.PWKR.CD.DT", year, usd)
        for country, usd in OTHER_INFLOW_2017.items():
            _indicator(conn, country, "BX.TRF.PWKR.CD.DT", 2017, usd)
        for country, per_head in PPP_PER_HEAD_2017.items():
            _indicator(conn, country, PPP, 2017, per_head)
        _indicator(conn, "RUS", "BM.TRF.PWKR.CD.DT", 2017, RUS_OUTFLOW_2017)
        stock = [("TJK", host, year, migrants) for (host, year), migrants in STOCK.items()]
        stock += [(o, d, y, m) for (o, d), m in OTHER_STOCK.items() for y in (2015, 2020)]
        for origin, host, year, migrants in stock:
            conn.execute(
                sa.text(
                    "INSERT INTO dw.fact_migrant_stock (origin_code, destination_code, year, sex, release_id,"
                    " migrants) VALUES (:o, :d, :y, 'both', :r, :m)"
                ),
                {"o": origin, "d": host, "y": year, "r": IMS, "m": migrants},
            )
        mart.refresh_all(conn)
    return warehouse_url


def _by_origin(url: str, origin: str, year: int) -> dict[tuple[str, str], dict]:
    found = dicts(
        url,
        "SELECT * FROM reporting.remittance_corridors WHERE origin_code = :o AND year = :y",
        o=origin,
        y=year,
    )
    return {(row["method"], row["destination_code"]): row for row in found}


def test_interpolated_stocks_and_the_published_method(corridors):
    got = _by_origin(corridors, "TJK", 2017)
    # 2017 is 2/5 of the way from 2015 to 2020: RUS 100 → 300 gives 180, AFG 50, TKL 0 → 100 gives 40.
    migrants = {"RUS": 180.0, "AFG": 50.0, "TKL": 40.0}
    assert {host: got[("stock_shares", host)]["migrants"] for host in migrants} == migrants
    assert {row["stock_basis"] for row in got.values()} == {"interpolated 2015-2020"}
    inflow = INFLOW[2017]
    # stock shares: 180, 50 and 40 of 270.
    expected = {"RUS": 180 / 270, "AFG": 50 / 270, "TKL": 40 / 270}
    # published method: a migrant in RUS counts 1,000 + (10,000 - 1,000) ** 0.75 = 1,924.0; in AFG,
    # poorer than TJK, the origin's 1,000; TKL has no income: the migrant-weighted mean of the others.
    russia = 1_000 + 9_000**0.75
    assert russia == pytest.approx(1_924.02, abs=0.01)
    mean = (180 * russia + 50 * 1_000) / 230
    total = 180 * russia + 50 * 1_000 + 40 * mean
    expected_published = {"RUS": 180 * russia / total, "AFG": 50_000 / total, "TKL": 40 * mean / total}
    for method, shares in (("stock_shares", expected), ("published_method", expected_published)):
        for host, share in shares.items():
            row = got[(method, host)]
            assert row["estimated_usd"] == pytest.approx(inflow * share, rel=1e-12), (method, host)
            assert row["share_of_inflow_pct"] == pytest.approx(100 * share, rel=1e-12), (method, host)
        assert sum(got[(method, host)]["estimated_usd"] for host in shares) == pytest.approx(inflow, abs=0.01)
    assert [got[(m, "TKL")]["income_imputed"] for m in ("stock_shares", "published_method")] == [False, True]
    assert got[("published_method", "RUS")]["corridor_rank"] == 1
    assert got[("published_method", "AFG")]["corridor_rank"] == 3  # 50,000 < TKL's 40 × 1,723.1
    assert got[("published_method", "RUS")]["host_income_per_head_ppp"] == 10_000
    assert got[("published_method", "RUS")]["origin_income_per_head_ppp"] == 1_000
    assert {row["value_kind"] for row in got.values()} == {"model estimate"}
    assert {m for m, _ in got} == {"stock_shares", "published_method"}
    assert got[("published_method", "RUS")]["income_release"] == "WB test"
    assert got[("stock_shares", "RUS")]["income_release"] is None
    assert got[("stock_shares", "RUS")]["stock_release"] == "IMS test"


def test_the_exponent_is_the_reference_files(corridors):
    """A different exponent in dw.remittance_model_parameter changes the published method's
    weights exactly as the rule says (0.5: RUS counts 1,000 + 9,000 ** 0.5 = 1,094.87)."""
    with get_engine(corridors).begin() as conn:
        conn.exec_driver_sql(
            "UPDATE dw.remittance_model_parameter SET value = 0.5 WHERE name = 'income_gap_exponent'"
        )
        mart.refresh_table(conn, "mart.remittance_corridors")
        share = conn.exec_driver_sql(
            "SELECT published_method_usd / origin_inflow_usd FROM mart.remittance_corridors"
            " WHERE origin_code = 'TJK' AND destination_code = 'RUS' AND year = 2017"
        ).scalar_one()
        conn.rollback()
    russia = 1_000 + 9_000**0.5
    mean = (180 * russia + 50 * 1_000) / 230
    assert share == pytest.approx(180 * russia / (180 * russia + 50_000 + 40 * mean), rel=1e-12)


def test_reference_years_held_stocks_and_years_before_them(corridors):
    at_reference = _by_origin(corridors, "TJK", 2015)
    # 2015 is a reference year: TKL's 0 migrants give no corridor; no incomes that year, so the
    # published method falls back to stock shares (100 and 50 of 150) and says the income was imputed.
    assert {host for _, host in at_reference} == {"RUS", "AFG"}
    for method in ("stock_shares", "published_method"):
        assert at_reference[(method, "RUS")]["estimated_usd"] == pytest.approx(4e5, rel=1e-12)
        assert at_reference[(method, "RUS")]["stock_basis"] == "UN DESA 2015"
    assert at_reference[("published_method", "AFG")]["income_imputed"] is True
    # 2021 is after the last reference year: the 2020 stock is held (300, 50 and 100 of 450).
    held = _by_origin(corridors, "TJK", 2021)
    assert {row["stock_basis"] for row in held.values()} == {"held from UN DESA 2020"}
    assert held[("stock_shares", "RUS")]["migrants"] == 300
    assert held[("stock_shares", "RUS")]["estimated_usd"] == pytest.approx(8e5 * 300 / 450, rel=1e-12)
    assert _by_origin(corridors, "TJK", 2012) == {}  # before the first reference year: no stock


def test_excluded_corridors_and_an_origin_without_income(corridors):
    """India ← Pakistan is one of the publisher's exclusions (reference/remittance_corridors.yml):
    no estimate, the inflow goes to the Emirates alone; India has no income: stock shares, imputed."""
    india = _by_origin(corridors, "IND", 2017)
    assert set(india) == {("stock_shares", "ARE"), ("published_method", "ARE")}
    assert all(row["estimated_usd"] == pytest.approx(1e6, rel=1e-12) for row in india.values())
    assert india[("published_method", "ARE")]["income_imputed"] is True
    excluded = dicts(
        corridors, "SELECT * FROM reporting.remittance_corridor_exclusions WHERE origin_code = 'IND'"
    )
    assert [(row["destination_code"], row["rule_source"]) for row in excluded] == [
        ("PAK", "remittance_corridors.yml")
    ]
    assert "not estimated" in excluded[0]["why"]


def test_kosovo_borrows_serbias_stock(corridors):
    kosovo = _by_origin(corridors, "XKX", 2017)
    assert {host: row["estimated_usd"] for (m, host), row in kosovo.items() if m == "stock_shares"} == {
        "DEU": pytest.approx(3e5, rel=1e-12),
        "AUT": pytest.approx(2e5, rel=1e-12),
    }
    assert {row["stock_proxy_code"] for row in kosovo.values()} == {"SRB"}
    rules = dicts(corridors, "SELECT * FROM reporting.remittance_model_rules ORDER BY rule_kind")
    assert [(r["rule_kind"], r["rule"], r["value"]) for r in rules] == [
        ("parameter", "income_gap_exponent", "0.75"),
        ("stock proxy", "XKX", "SRB"),
    ]


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
            "UPDATE mart.remittance_corridors SET published_method_usd = published_method_usd + 1"
            " WHERE year = 2017 AND destination_code = 'AFG'"
        )
        with pytest.raises(
            ReportingCheckFailed, match=r"origin_code=TJK, year=2017, method=published_method"
        ):
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
