"""Acceptance at full size: the REAL public data of every country (``../shared/data/real/``), served
in each source's published format by a local HTTP server (``tests/support/real_sources.py``), run through
each source's Airflow DAG in live mode on DuckDB and on PostgreSQL.

The expected figures are computed here straight from the CSV files with pandas, never through
project code, for countries from every continent — Tajikistan, small island states (Tonga, Haiti),
Lesotho (remittances above 100 % of GDP), countries with millions of refugees abroad (Syria,
Afghanistan, Ukraine) — and compared with what the warehouse holds, read back from the database:
to the unit for counts and US$, to 0.01 percentage points for ratios.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.support import ROOT
from tests.support.corridor_model import (
    EXCLUDED,
    STOCK_PROXIES,
    method_shares,
    published_shares,
    read_matrix,
    share_differences,
)
from tests.support.dag_helpers import load_dag, states
from tests.support.real_sources import (
    KNOMAD_FILE_NAME,
    LASTUPDATED,
    REAL_DATA_DIR,
    WB_AGGREGATES,
    WB_INDICATORS,
    RealSourcesServer,
    load_real,
    require_real_data,
)
from tests.support.sql import rows

pytestmark = [pytest.mark.e2e, pytest.mark.acceptance]
ARTIFACTS = ROOT / "test-artifacts"

COUNTRIES = [
    "TJK",  # Asia: the first country studied
    "KGZ",
    "IND",
    "PHL",
    "SYR",  # millions of refugees abroad
    "AFG",
    "UKR",  # Europe
    "DEU",
    "LSO",  # Africa: remittances above 100 % of GDP in 1990-1995
    "NGA",
    "MEX",  # the Americas
    "HTI",  # a small island state
    "BRA",
    "USA",
    "TON",  # Oceania: a small island state
    "AUS",
]
FIRST_YEAR, LAST_WB_YEAR = 1990, 2024
STOCK_YEARS = (1990, 2024)
REFUGEE_YEARS = (2023, 2024, 2025)  # the last three years of the UNHCR table
EU_12_IN_1990 = ["BEL", "DEU", "FRA", "ITA", "LUX", "NLD", "DNK", "IRL", "GBR", "GRC", "ESP", "PRT"]
EEA_EFTA = ["ISL", "LIE", "NOR"]  # EU + these = the European Economic Area


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    require_real_data()
    with RealSourcesServer(tmp_path_factory.mktemp("real-sources")) as server:
        yield server


@pytest.fixture(scope="module")
def expected() -> dict:
    """Every expected figure, from the CSV files alone."""
    data = load_real()
    return {
        "remittances": _expected_remittances(data.wdi),
        "stock": _expected_stock(data.ims, data.countries),
        "groups": _expected_group_shares(data.ims, data.countries),
        "refugees": _expected_refugees(data.unhcr),
        "refugee_totals": data.unhcr[data.unhcr["year"].isin(REFUGEE_YEARS)]
        .groupby("year")["refugees"]
        .sum(),
        "above_100": _shares_above_100(data.wdi),
        "rows": {
            "dw.fact_indicator_value": (data.wdi["iso3"].nunique() + len(WB_AGGREGATES))
            * (LAST_WB_YEAR - FIRST_YEAR + 1)
            * len(WB_INDICATORS),
            "dw.fact_refugee_population": len(data.unhcr) * 9,  # every item carries all nine types
        },
        "stock_pairs": len(data.ims[["destination_iso3", "origin_iso3"]].drop_duplicates()),
        "corridors": _expected_corridors(data.wdi, data.ims),
    }


def _expected_remittances(wdi: pd.DataFrame) -> pd.DataFrame:
    wide = wdi[wdi["iso3"].isin(COUNTRIES) & (wdi["year"] >= FIRST_YEAR)].pivot_table(
        index=["iso3", "year"], columns="indicator", values="value"
    )
    received = wide["BX.TRF.PWKR.CD.DT"]
    figures = pd.DataFrame({"usd": received, "pct_gdp": received / wide["NY.GDP.MKTP.CD"] * 100})
    return figures.dropna(subset=["usd"])


def _expected_stock(ims: pd.DataFrame, countries: pd.DataFrame) -> dict:
    """(origin, destination M49, year, sex) → migrants, with both sexes = female + male."""
    m49 = dict(zip(countries["iso3"], countries["m49"], strict=True))
    rows = ims[ims["origin_iso3"].isin(COUNTRIES) & ims["year"].isin(STOCK_YEARS)]
    figures = {}
    for row in rows.itertuples(index=False):
        key = (row.origin_iso3, int(m49[row.destination_iso3]), row.year)
        figures[(*key, row.sex)] = float(row.n)
        figures[(*key, "both")] = figures.get((*key, "both"), 0.0) + row.n
    return figures


def _expected_group_shares(ims: pd.DataFrame, countries: pd.DataFrame) -> dict:
    """(origin, group, year) → (migrants, % of the origin's emigrants), both sexes."""
    eu27 = set(countries.loc[countries["eu"] == 1, "iso3"])
    members = {
        ("EU27_2020", 1990): eu27,
        ("EU27_2020", 2024): eu27,
        ("EU", 1990): set(EU_12_IN_1990),
        ("EU", 2024): eu27,
        ("EEA", 2024): eu27 | set(EEA_EFTA),
    }
    shares = {}
    for origin in COUNTRIES:
        for (group, year), destinations in members.items():
            mine = ims[(ims["origin_iso3"] == origin) & (ims["year"] == year)]
            total = mine["n"].sum()
            inside = mine.loc[mine["destination_iso3"].isin(destinations), "n"].sum()
            shares[(origin, group, year)] = (float(inside), 100 * inside / total if total else None)
    return shares


def _expected_refugees(unhcr: pd.DataFrame) -> pd.DataFrame:
    recent = unhcr[unhcr["year"].isin(REFUGEE_YEARS)]
    by_origin = recent.groupby(["coo_iso", "year"])[["refugees", "asylum_seekers"]].sum()
    hosted = recent.groupby(["coa_iso", "year"])[["refugees", "asylum_seekers", "stateless"]].sum()
    return {"origin": by_origin, "asylum": hosted}


def _shares_above_100(wdi: pd.DataFrame) -> int:
    wide = wdi[wdi["year"] >= FIRST_YEAR].pivot_table(
        index=["iso3", "year"], columns="indicator", values="value"
    )
    return int((wide["BX.TRF.PWKR.CD.DT"] / wide["NY.GDP.MKTP.CD"] * 100 > 100).sum())


def _corridor_stock(ims: pd.DataFrame) -> pd.Series:
    """(origin, destination, year) → both sexes, the model's stock: Channel Islands under the World
    Bank's code, the publisher's exclusions dropped, Kosovo given Serbia's emigrants."""
    channel_islands = {"XCX": "CHI"}  # UN DESA's file code; the warehouse keeps the World Bank's
    ims = ims.replace({"origin_iso3": channel_islands, "destination_iso3": channel_islands})
    both = ims.groupby(["origin_iso3", "destination_iso3", "year"])["n"].sum().reset_index()
    for country, proxy in STOCK_PROXIES.items():
        if not (both["origin_iso3"] == country).any():
            borrowed = both[(both["origin_iso3"] == proxy) & (both["destination_iso3"] != country)]
            both = pd.concat([both, borrowed.assign(origin_iso3=country)], ignore_index=True)
    pairs = zip(both["origin_iso3"], both["destination_iso3"], strict=True)
    both = both[[pair not in EXCLUDED for pair in pairs]]
    return both.set_index(["origin_iso3", "destination_iso3", "year"])["n"]


def _interpolated(both: pd.Series, year: int, reference_years: list[int]) -> pd.Series:
    """(origin, destination) → migrants in ``year``: linear between reference years, absent = 0."""
    wide = both.unstack("year").fillna(0.0)
    start = max(y for y in reference_years if y <= year)
    after = [y for y in reference_years if y > start]
    if year == start or not after:
        migrants = wide[start]
    else:
        migrants = wide[start] + (wide[after[0]] - wide[start]) * (year - start) / (after[0] - start)
    return migrants[migrants > 0]


def _model_shares(
    both: pd.Series, wdi: pd.DataFrame, year: int, reference_years: list[int], positive_only: bool = False
) -> pd.DataFrame:
    """Every corridor's shares of ``year`` under both methods (tests/support/corridor_model.py)."""
    values = wdi[wdi["year"] == year].pivot_table(index="iso3", columns="indicator", values="value")
    inflow = values["BX.TRF.PWKR.CD.DT"].dropna()
    if positive_only:  # an inflow of 0 is shared out as zeros: no share to compare with the publisher's
        inflow = inflow[inflow > 0]
    income = values["NY.GDP.PCAP.PP.KD"].dropna()
    income = income[income > 0]
    migrants = _interpolated(both, year, reference_years)
    frames = []
    for origin, hosts in migrants.groupby(level=0):
        if origin in inflow.index:
            shares = method_shares(hosts.droplevel(0), income.get(origin), income)
            frames.append(shares.rename_axis("destination").reset_index().assign(origin=origin))
    return pd.concat(frames, ignore_index=True)


def _expected_corridors(wdi: pd.DataFrame, ims: pd.DataFrame) -> dict:
    """The corridor estimates' checkable figures, from the CSV and XLSX files with pandas: each
    origin's inflows and the years its emigrants' stock covers, every 2020 stock-share estimate
    summed by host, Tajikistan's 2020 shares under both methods, its 2023 stock in Russia, and the
    summary of the 2017 estimates against the published 2017 matrix."""
    both = _corridor_stock(ims)
    wide = wdi.pivot_table(index=["iso3", "year"], columns="indicator", values="value")
    inflow = wide["BX.TRF.PWKR.CD.DT"].dropna()
    reference_years = sorted(ims["year"].unique())
    stocked = both[both > 0].reset_index()
    years_with_stock = set(zip(stocked["origin_iso3"], stocked["year"], strict=True))
    covered = set()
    for (origin, year), _ in inflow.items():
        if year < reference_years[0]:
            continue
        start = max(y for y in reference_years if y <= year)
        after = [y for y in reference_years if y > start]
        ends = {start} if year == start or not after else {start, after[0]}
        if any((origin, y) in years_with_stock for y in ends):
            covered.add((origin, year))
    model_2020 = _model_shares(both, wdi, 2020, reference_years)
    model_2020["usd"] = model_2020["stock_shares"] * [inflow[(o, 2020)] for o in model_2020["origin"]]
    tajik = model_2020[model_2020["origin"] == "TJK"].set_index("destination")
    russia = both[("TJK", "RUS")]
    return {
        "inflow": inflow,
        "observed_outflow": wide["BM.TRF.PWKR.CD.DT"].dropna(),
        "covered": covered,
        "outflow_2020_stock_shares": model_2020.groupby("destination")["usd"].sum(),
        "tjk_2020": {"stock_shares": tajik["stock_shares"], "published_method": tajik["published_method"]},
        "tjk_2020_ppp": wide["NY.GDP.PCAP.PP.KD"].xs(2020, level="year"),
        "tjk_rus_2023_migrants": russia[2020] + (russia[2024] - russia[2020]) * 3 / 4,
        "published_2017": _expected_published_summary(
            _model_shares(both, wdi, 2017, reference_years, positive_only=True)
        ),
    }


def _expected_published_summary(model: pd.DataFrame) -> dict:
    """Per method: corridors compared, median, 90th percentile and share within 5 points of the
    absolute share difference against the published 2017 matrix (corridors of US$ 100 m or more)."""
    published = published_shares(read_matrix(REAL_DATA_DIR / KNOMAD_FILE_NAME, "sending", "receiving"))
    summary = {}
    for method in ("stock_shares", "published_method"):
        differences = share_differences(published, model, method)
        summary[method] = {
            "corridors_compared": len(differences),
            "median_abs_difference_pp": differences.median(),
            "p90_abs_difference_pp": differences.quantile(0.9),
            "within_5pp_pct": 100 * (differences <= 5).mean(),
        }
    return summary


# --- the run ----------------------------------------------------------------------------------


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loaded(request, real_server, airflow_db, make_settings, tmp_path, alert_webhook):
    """Every source DAG run once, live, against the real-data server."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_url")
    make_settings(
        warehouse_url=url,
        worldbank_base_url=real_server.worldbank_base_url,
        undesa_ims_url=real_server.undesa_ims_url,
        unhcr_base_url=real_server.unhcr_base_url,
        unhcr_year_from=1951,  # the whole table, not the default window
        knomad_matrix_url=real_server.knomad_matrix_url,
        alert_webhook_url=alert_webhook.url,
    )
    dag_ids = [
        "worldbank_indicators",
        "undesa_migrant_stock",
        "unhcr_refugees",
        "knomad_bilateral_remittances",
    ]
    for day, dag_id in enumerate(dag_ids, start=1):
        dag_run = load_dag(dag_id).test(logical_date=datetime(2026, 10, day, tzinfo=UTC))
        assert str(dag_run.state) == "success", (dag_id, states(dag_run))
        assert states(dag_run)["load"] == "success", (dag_id, states(dag_run))
    return url, alert_webhook.received


def test_every_source_loads_all_countries_completely_and_correctly(loaded, expected, real_server, tmp_path):
    url, alerts = loaded
    _check_row_counts(url, expected, real_server)
    _check_remittances(url, expected["remittances"])
    _check_emigrants_by_destination(url, expected["stock"])
    _check_group_shares(url, expected["groups"])
    _check_refugees(url, expected["refugees"], expected["refugee_totals"])
    _check_codes_and_warnings(url, alerts, expected["above_100"])
    _check_reporting_layer(url)
    _check_remittance_corridors(url, expected["corridors"])
    _check_published_comparison(url, expected["corridors"]["published_2017"])
    if url.startswith("duckdb"):  # the pages are the same on both engines: drawn once
        _check_factsheets(url, tmp_path)
    _check_a_second_release_refreshes_the_reporting_layer(url, real_server, expected["remittances"])


def _check_row_counts(url: str, expected: dict, server: RealSourcesServer) -> None:
    """Rows counted in the database per fact table and release, and what etl.load_run recorded."""
    wanted = {
        **expected["rows"],
        "dw.fact_migrant_stock": server.ims_info.workbook_rows * 24,  # every row × 3 sexes × 8 years
        # every cell of the published matrix, its WORLD row and column included (215 × 215)
        "dw.fact_published_remittance": len(
            read_matrix(REAL_DATA_DIR / KNOMAD_FILE_NAME, "sending", "receiving")
        ),
    }
    recorded = {
        table: (release_id, rows_loaded)
        for table, release_id, rows_loaded in rows(
            url,
            "SELECT CASE source WHEN 'worldbank_indicators' THEN 'dw.fact_indicator_value'"
            " WHEN 'undesa_migrant_stock' THEN 'dw.fact_migrant_stock'"
            " WHEN 'knomad_bilateral_remittances' THEN 'dw.fact_published_remittance'"
            " ELSE 'dw.fact_refugee_population' END, release_id, rows_loaded"
            " FROM etl.load_run WHERE status = 'success'",
        )
    }
    assert set(recorded) == set(wanted)
    for table, wanted_rows in wanted.items():
        release_id, rows_loaded = recorded[table]
        landed = rows(url, f"SELECT count(*) FROM {table} WHERE release_id = :r", r=release_id)[0][0]
        assert landed == wanted_rows == rows_loaded, (table, landed, wanted_rows, rows_loaded)
    # Every destination × origin pair of countries in the file, × 24 values.
    pairs = rows(
        url,
        "SELECT count(*) FROM dw.fact_migrant_stock f"
        " JOIN dw.dim_country o ON o.country_code = f.origin_code"
        " JOIN dw.dim_country d ON d.country_code = f.destination_code"
        " WHERE o.area_type IN ('country', 'residual') AND d.area_type = 'country'",
    )[0][0]
    assert pairs == expected["stock_pairs"] * 24


def _check_remittances(url: str, expected: pd.DataFrame) -> None:
    found = {
        (r.country_code, r.year): r
        for r in rows(
            url,
            "SELECT country_code, year, remittances_received_usd, remittances_received_pct_gdp"
            " FROM reporting.remittances WHERE remittances_received_usd IS NOT NULL"
            " AND country_code IN :codes",
            codes=tuple(COUNTRIES),
        )
        if r.year >= FIRST_YEAR
    }
    assert set(found) == set(expected.index), set(found) ^ set(expected.index)
    for key, row in expected.iterrows():
        assert abs(found[key].remittances_received_usd - row["usd"]) < 0.5, key
        if pd.isna(row["pct_gdp"]):
            assert found[key].remittances_received_pct_gdp is None, key
        else:
            assert abs(found[key].remittances_received_pct_gdp - row["pct_gdp"]) < 0.01, key
    tajikistan = found[("TJK", 2023)]  # the README of the data folder: 4,633,754,222 US$, 38.42 %
    assert round(tajikistan.remittances_received_usd) == 4_633_754_222
    assert round(tajikistan.remittances_received_pct_gdp, 2) == 38.42
    assert round(found[("LSO", 1990)].remittances_received_pct_gdp) == 167


def _check_emigrants_by_destination(url: str, expected: dict) -> None:
    found = {
        (r.origin_code, int(r.m49), r.year, r.sex): r.migrants
        for r in rows(
            url,
            "SELECT e.origin_code, d.m49, e.year, e.sex, e.migrants FROM reporting.emigrants_by_destination e"
            " JOIN dw.dim_country d ON d.country_code = e.destination_code"
            " WHERE e.origin_code IN :codes AND e.year IN :years",
            codes=tuple(COUNTRIES),
            years=STOCK_YEARS,
        )
    }
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))[:10]
    wrong = {key: (found[key], value) for key, value in expected.items() if abs(found[key] - value) >= 0.5}
    assert not wrong, list(wrong.items())[:10]
    profile = rows(
        url,
        "SELECT emigrants, male_pct FROM reporting.diaspora_profile"
        " WHERE country_code = 'TJK' AND year = 2024",
    )[0]
    assert profile.emigrants == 514_478 and round(profile.male_pct, 1) == 57.4  # the data folder's README


def _check_group_shares(url: str, expected: dict) -> None:
    found = {
        (r.origin_code, r.group_code, r.year): (r.migrants, r.share_of_origin_total_pct)
        for r in rows(
            url,
            "SELECT origin_code, group_code, year, migrants, share_of_origin_total_pct"
            " FROM reporting.emigrants_in_group WHERE sex = 'both' AND origin_code IN :codes"
            " AND group_code IN ('EU', 'EU27_2020', 'EEA') AND year IN :years",
            codes=tuple(COUNTRIES),
            years=STOCK_YEARS,
        )
    }
    for key, (migrants, share) in expected.items():
        if migrants == 0:  # no emigrant in the group: the view has no row or a zero
            assert key not in found or found[key][0] == 0, key
            continue
        assert abs(found[key][0] - migrants) < 0.5, (key, found[key], migrants)
        assert abs(found[key][1] - share) < 0.01, (key, found[key], share)


def _check_refugees(url: str, expected: dict, totals: pd.Series) -> None:
    found = {
        (r.country_code, r.year): r
        for r in rows(
            url,
            "SELECT * FROM reporting.refugees WHERE country_code IN :codes AND year IN :years",
            codes=tuple(COUNTRIES),
            years=REFUGEE_YEARS,
        )
    }
    checked = 0
    for country in COUNTRIES:
        for year in REFUGEE_YEARS:
            as_origin = (country, year) in expected["origin"].index
            as_asylum = (country, year) in expected["asylum"].index
            assert ((country, year) in found) == (as_origin or as_asylum), (country, year)
            if as_origin:
                origin = expected["origin"].loc[(country, year)]
                assert found[(country, year)].refugees_from == origin["refugees"], (country, year)
                assert found[(country, year)].asylum_seekers_from == origin["asylum_seekers"], (country, year)
                checked += 1
            if as_asylum:
                hosted = expected["asylum"].loc[(country, year)]
                assert found[(country, year)].refugees_hosted == hosted["refugees"], (country, year)
                assert found[(country, year)].stateless_hosted == hosted["stateless"], (country, year)
                checked += 1
    assert checked >= len(COUNTRIES) * len(REFUGEE_YEARS)
    assert found[("TJK", 2024)].refugees_from == 4045  # the data folder's README
    assert found[("SYR", 2024)].refugees_from > 1_000_000
    # Warehouse totals equal the publisher's: unknown, stateless and Tibetan origins included.
    for year, total in totals.items():
        loaded = rows(
            url,
            "SELECT sum(persons) FROM reporting.refugee_population WHERE population_type = 'refugees'"
            " AND year = :y",
            y=year,
        )[0][0]
        assert loaded == total, (year, loaded, total)


def _check_codes_and_warnings(url: str, alerts: list[dict], above_100: int) -> None:
    kinds = dict(
        rows(
            url,
            "SELECT country_code, area_type FROM dw.dim_country"
            " WHERE country_code IN ('UNK', 'XXA', 'TIB', 'CHI')",
        )
    )
    assert kinds == {"UNK": "unknown", "XXA": "stateless", "TIB": "territory", "CHI": "country"}
    assert rows(url, "SELECT count(*) FROM dw.dim_country WHERE area_type = 'unmapped'")[0][0] == 0
    flagged = rows(
        url, "SELECT count(*) FROM dw.fact_indicator_value WHERE quality_flags LIKE '%pct_above_100%'"
    )[0][0]
    assert flagged == above_100
    (worldbank,) = [
        a for a in alerts if a["kind"] == "validation_warning" and a["source"] == "worldbank_indicators"
    ]
    shares = next(e for e in worldbank["expectations"] if e["flag"] == "pct_above_100")
    assert shares["unexpected_count"] == above_100
    assert shares["rows"][0][0] == "LSO · BX.TRF.PWKR.DT.GD.ZS · 1990"
    assert not [a for a in alerts if a["severity"] == "error"]


# --- the reporting layer and the factsheets at full size ---------------------------------------


def _check_reporting_layer(url: str) -> None:
    """Every load refreshed its tables of the layer in its transaction and recorded what it wrote;
    the row-level views show each fact row of the one current release once."""
    refreshed = {
        source: json.loads(text)
        for source, text in rows(
            url, "SELECT source, reporting_refresh FROM etl.load_run WHERE status = 'success'"
        )
    }
    written_by = {
        "mart.remittances": "worldbank_indicators",
        "mart.emigrants_by_destination": "undesa_migrant_stock",
        "mart.emigrants_in_group": "undesa_migrant_stock",
        "mart.diaspora_profile": "undesa_migrant_stock",  # loaded after the World Bank: its count stands
        "mart.refugees": "unhcr_refugees",
    }
    for table, source in written_by.items():
        counted = rows(url, f"SELECT count(*) FROM {table}")[0][0]
        assert counted > 0 and counted == refreshed[source][table]["rows"], (
            table,
            counted,
            refreshed[source],
        )
    for view, fact in (
        ("indicator_values", "dw.fact_indicator_value"),
        ("migrant_stock", "dw.fact_migrant_stock"),
        ("refugee_population", "dw.fact_refugee_population"),
    ):
        assert (
            rows(url, f"SELECT count(*) FROM reporting.{view}")[0][0]
            == rows(url, f"SELECT count(*) FROM {fact}")[0][0]
        )


def _check_remittance_corridors(url: str, expected: dict) -> None:
    """The corridor estimates on every country's real data: per origin, year and method they add up
    to the observed inflow; they cover every year with an inflow and a stock; Tajikistan's 2020
    shares equal those computed here (stock-only: Russia's share of its emigrants); the methods
    differ where incomes differ; the gap view's sums and observed outflows are right."""
    sums = rows(
        url,
        "SELECT origin_code, year, method, sum(estimated_usd), max(origin_inflow_usd), count(*)"
        " FROM reporting.remittance_corridors GROUP BY origin_code, year, method",
    )
    inflow = expected["inflow"]
    assert {(o, y) for o, y, *_ in sums} == expected["covered"]
    assert len(sums) == 2 * len(expected["covered"])
    for origin, year, method, total, shared, _ in sums:
        assert shared == inflow[(origin, year)], (origin, year)
        assert abs(total - shared) < 0.01, (origin, year, method, total, shared)  # to the cent
    kinds = rows(url, "SELECT DISTINCT value_kind FROM reporting.remittance_corridors")
    assert [tuple(r) for r in kinds] == [("model estimate",)]

    tajik = {
        (method, destination): (share, usd)
        for method, destination, share, usd in rows(
            url,
            "SELECT method, destination_code, share_of_inflow_pct, estimated_usd"
            " FROM reporting.remittance_corridors WHERE origin_code = 'TJK' AND year = 2020",
        )
    }
    for method, shares in expected["tjk_2020"].items():
        assert {d for m, d in tajik if m == method} == set(shares.index), method
        for destination, share in shares.items():
            got_share, got_usd = tajik[(method, destination)]
            assert abs(got_share - 100 * share) < 1e-9, (method, destination)
            assert abs(got_usd - share * inflow[("TJK", 2020)]) < 0.01, (method, destination)
    russia_by_stock = expected["tjk_2020"]["stock_shares"]["RUS"]
    assert 0.8 < russia_by_stock < 0.85  # 426,230 of 517,979 Tajik emigrants (UN DESA 2020)
    ppp = expected["tjk_2020_ppp"]
    assert ppp["RUS"] > ppp["TJK"] > ppp["AFG"]  # a richer host and a poorer one
    # Migrants in a richer host weigh more than the average, in a poorer one the origin's income only.
    assert tajik[("published_method", "RUS")][0] > tajik[("stock_shares", "RUS")][0]
    assert tajik[("published_method", "AFG")][0] < tajik[("stock_shares", "AFG")][0]

    interpolated = rows(
        url,
        "SELECT DISTINCT migrants, stock_basis FROM reporting.remittance_corridors"
        " WHERE origin_code = 'TJK' AND destination_code = 'RUS' AND year = 2023",
    )
    assert [tuple(r) for r in interpolated] == [(expected["tjk_rus_2023_migrants"], "interpolated 2020-2024")]

    gaps = {
        country: (estimated, observed, gap)
        for country, estimated, observed, gap in rows(
            url,
            "SELECT country_code, estimated_outflow_usd, observed_outflow_usd, gap_usd"
            " FROM reporting.remittance_corridor_gaps WHERE year = 2020 AND method = 'stock_shares'",
        )
    }
    outflows = expected["outflow_2020_stock_shares"]
    assert set(gaps) == set(outflows.index)
    for country, usd in outflows.items():
        estimated, observed, gap = gaps[country]
        assert abs(estimated - usd) <= 1e-9 * usd + 0.01, country
        published = expected["observed_outflow"].get((country, 2020))
        if published is None:
            assert observed is None and gap is None, country
        else:
            assert abs(observed - published) < 0.5 and abs(gap - (estimated - observed)) < 0.01, country


def _check_published_comparison(url: str, expected: dict) -> None:
    """Today's data against the published 2017 matrix: the summary view's figures equal those
    computed here from the CSV and XLSX files; the matrix loaded whole, '-' cells not estimated."""
    summary = {
        row.method: row
        for row in rows(url, "SELECT * FROM reporting.published_remittance_accuracy WHERE year = 2017")
    }
    assert set(summary) == set(expected)
    for method, figures in expected.items():
        for column, value in figures.items():
            assert getattr(summary[method], column) == pytest.approx(value, abs=1e-9), (method, column)
    statuses = dict(
        rows(
            url, "SELECT estimate_status, count(*) FROM dw.fact_published_remittance GROUP BY estimate_status"
        )
    )
    assert statuses["not_estimated"] == 4 and statuses["estimated"] == 214 * 214 - 4


def _check_factsheets(url: str, folder) -> None:
    """Tajikistan, India (the largest diaspora) and Tokelau (688 emigrants, no remittance or refugee
    figure) drawn by Chromium: no empty chart, no overlapping text, the charts' own texts read right;
    screenshots kept in test-artifacts/; the A4 PDFs hold the figures."""
    from diaspora.factsheet import render_countries
    from diaspora.settings import get_settings
    from tests.support.browser import (
        body_attribute,
        chart_texts,
        laid_out_dom,
        pdf_pages_and_text,
        screenshot,
    )

    settings = get_settings().model_copy(update={"data_dir": folder})
    result = render_countries(settings, ["TJK", "IND", "TKL"], workers=2)
    assert result["countries"] == 3 and result["pdfs"] == 3, result
    ARTIFACTS.mkdir(exist_ok=True)
    for country in ("TJK", "IND", "TKL"):
        page = folder / "factsheets" / country / "factsheet.html"
        dom = laid_out_dom(page)
        assert body_attribute(dom, "data-visible-charts") == "3", country
        assert body_attribute(dom, "data-empty-charts") == "", country
        assert body_attribute(dom, "data-text-overlaps") == "", country
        screenshot(page, ARTIFACTS / f"factsheet_{country}.png")
        pages, text, sizes = pdf_pages_and_text(page.with_suffix(".pdf"))
        assert 2 <= pages <= 4 and all(abs(w - 595.9) < 2 and abs(h - 842.9) < 2 for w, h in sizes), country
        assert f"Diaspora profile: {_rows_name(country)}" in text, country
    tajikistan = laid_out_dom(folder / "factsheets" / "TJK" / "factsheet.html")
    trend = chart_texts(tajikistan, "remittances_trend")
    assert {"2004", "2010", "2016", "2022"} <= set(trend) and "4.0 bn" in trend  # plain years, US$ in bn
    top = chart_texts(tajikistan, "top_destinations")
    assert {"Russia", "Ukraine", "Kazakhstan"} <= set(top) and "415,676" in top  # the data folder's README
    india = chart_texts(laid_out_dom(folder / "factsheets" / "IND" / "factsheet.html"), "top_destinations")
    assert {"United Arab Emirates", "United States", "Saudi Arabia"} <= set(india)
    _check_remittance_sources(url, folder / "factsheets")
    tokelau = laid_out_dom(folder / "factsheets" / "TKL" / "factsheet.html")
    assert "Remittances: not available" in chart_texts(tokelau, "remittances_trend")
    shown = dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', tokelau))
    assert shown["remittances_received_usd"] == "" and float(shown["emigrants"]) > 0


def _check_remittance_sources(url: str, folder) -> None:
    """Tajikistan's page shows the five countries its remittances come from as model estimates,
    with the reporting view's figures, beside the published 2017 matrix's (Russia: 76.0 %), each
    labelled; India's says Pakistan is not estimated, by the publisher and so by the model;
    Tokelau (no inflow) says so."""
    page = (folder / "TJK" / "factsheet.html").read_text()
    shown = re.findall(r'<tr data-source="(\w+)" data-value="([^"]*)" data-published="([^"]*)">', page)
    top = rows(
        url,
        "SELECT destination_code, estimated_usd FROM reporting.remittance_corridors WHERE origin_code = 'TJK'"
        " AND method = 'published_method' AND corridor_rank <= 5 AND year = 2023 ORDER BY corridor_rank",
    )
    assert [(code, float(value)) for code, value, _ in shown] == [tuple(r) for r in top]
    assert shown[0][0] == "RUS" and float(shown[0][2]) == pytest.approx(1_686.574106e6, rel=1e-9)
    assert 'data-kind="model estimate"' in page and "estimates, not observed figures" in page
    assert "Ratha and Shaw 2007 method" in page and "Migrant stock: interpolated 2020-2024" in page
    assert "Published estimate 2017" in page and "KNOMAD 2017 (April 2018 version)" in page
    india = (folder / "IND" / "factsheet.html").read_text()
    assert 'data-excluded="PAK"' in india and "Pakistan: not estimated by the publisher" in india
    assert 'data-source="PAK"' not in india
    tokelau = (folder / "TKL" / "factsheet.html").read_text()
    assert 'data-source="' not in tokelau and 'colspan="7" class="na">not available' in tokelau


def _rows_name(country: str) -> str:
    return {"TJK": "Tajikistan", "IND": "India", "TKL": "Tokelau"}[country]


def _check_a_second_release_refreshes_the_reporting_layer(
    url: str, server: RealSourcesServer, expected
) -> None:
    """A later World Bank release (SYNTHETIC revision: Tajikistan's 2023 remittances +10 %) reaches
    the remittances and the diaspora profile through the layer; every other figure stays; the
    release diff finds that one value and nothing else."""
    real = expected.loc[("TJK", 2023), "usd"]
    revised = round(real * 1.1)
    server.worldbank.publish_revision("2025-12-16", {("BX.TRF.PWKR.CD.DT", "TJK", 2023): revised})
    try:
        dag_run = load_dag("worldbank_indicators").test(logical_date=datetime(2026, 10, 9, tzinfo=UTC))
        assert str(dag_run.state) == "success", states(dag_run)
    finally:
        server.worldbank.publish_revision(LASTUPDATED, {("BX.TRF.PWKR.CD.DT", "TJK", 2023): real})
    received = rows(
        url,
        "SELECT remittances_received_usd, release_label FROM reporting.remittances"
        " WHERE country_code = 'TJK' AND year = 2023",
    )
    assert [tuple(r) for r in received] == [(revised, "2025-12-16")]
    profile = rows(
        url,
        "SELECT DISTINCT remittances_received_usd, remittances_release FROM reporting.diaspora_profile"
        " WHERE country_code = 'TJK'",
    )
    assert [tuple(r) for r in profile] == [(revised, "2025-12-16")]
    corridors = rows(  # recomputed with the new release's inflow
        url,
        "SELECT method, sum(estimated_usd), max(inflow_release) FROM reporting.remittance_corridors"
        " WHERE origin_code = 'TJK' AND year = 2023 GROUP BY method",
    )
    assert len(corridors) == 2
    assert all(abs(total - revised) < 0.01 and release == "2025-12-16" for _, total, release in corridors)
    others = rows(
        url,
        "SELECT country_code, year, remittances_received_usd FROM reporting.remittances"
        " WHERE country_code IN :codes AND remittances_received_usd IS NOT NULL",
        codes=tuple(COUNTRIES),
    )
    changes = rows(
        url,
        "SELECT old_release_label, added, removed, revised, status FROM reporting.release_changes"
        " WHERE source = 'worldbank_indicators' AND new_release_label = '2025-12-16'",
    )
    assert [tuple(r) for r in changes] == [(LASTUPDATED, 0, 0, 1, "loaded")]
    revision = rows(
        url,
        "SELECT country_code, measure, year, old_value, new_value FROM reporting.value_revisions"
        " WHERE new_release_label = '2025-12-16'",
    )
    assert [tuple(r) for r in revision] == [("TJK", "BX.TRF.PWKR.CD.DT", 2023, real, revised)]
    unchanged = {(c, y): v for c, y, v in others if (c, y) != ("TJK", 2023) and y >= FIRST_YEAR}
    assert len(unchanged) == len(expected) - 1
    assert all(abs(v - expected.loc[key, "usd"]) < 0.5 for key, v in unchanged.items())
