"""Sanity checks of the payloads built from the REAL public data (tests/support/real_sources.py).

The expected figures are real, from the data folder's README; they skip when it is absent.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import openpyxl
import pandas as pd
import pytest
import requests

from tests.support.real_sources import (
    IMS_FILE_NAME,
    WB_AGGREGATES,
    XLSX_TIMESTAMP,
    XLSX_TYPE,
    RealSourcesServer,
    load_real,
    require_real_data,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_real_data()
    with RealSourcesServer(tmp_path_factory.mktemp("real_sources")) as running:
        yield running


def _wb_pages(server: RealSourcesServer, code: str, date: str) -> tuple[dict, list[dict]]:
    """Every page of one indicator at per_page=1000: (first page's meta, all rows)."""
    url = f"{server.worldbank_base_url}/country/all/indicator/{code}"
    rows, page, pages, first = [], 1, 1, None
    while page <= pages:
        response = requests.get(
            url, params={"format": "json", "per_page": 1000, "page": page, "date": date}, timeout=30
        )
        response.raise_for_status()
        meta, chunk = response.json()
        first, pages = first or meta, meta["pages"]
        rows += chunk
        page += 1
    return first, rows


def _value(rows: list[dict], iso3: str, year: int) -> float | None:
    (row,) = [r for r in rows if r["countryiso3code"] == iso3 and r["date"] == str(year)]
    return row["value"]


def test_worldbank_pages_add_up_to_total_with_real_tajikistan_figures(server):
    meta, remittances = _wb_pages(server, "BX.TRF.PWKR.CD.DT", "1990:2024")
    assert (
        len(remittances) == meta["total"] == len(server.worldbank.indicator_rows("BX.TRF.PWKR.CD.DT", 1990))
    )
    assert meta["pages"] > 1 and meta["lastupdated"] == "2025-07-01"
    assert round(_value(remittances, "TJK", 2023)) == 4_633_754_222
    assert _value(remittances, "TJK", 2024) is None  # the files stop at 2023
    assert _value(remittances, "WLD", 2023) is None  # aggregates carry no values
    _, gdp = _wb_pages(server, "NY.GDP.MKTP.CD", "2023:2023")
    assert round(_value(gdp, "TJK", 2023)) == 12_060_602_009


def test_worldbank_remittances_can_exceed_gdp(server):
    _, share = _wb_pages(server, "BX.TRF.PWKR.DT.GD.ZS", "1990:1995")
    lesotho = [_value(share, "LSO", year) for year in range(1990, 1996)]
    assert all(108 <= round(value) <= 167 for value in lesotho), lesotho


def test_worldbank_pagination_edges_and_unknown_indicator(server):
    url = f"{server.worldbank_base_url}/country/all/indicator"
    meta, rows = requests.get(f"{url}/SP.POP.TOTL", params={"page": 999}, timeout=30).json()
    assert rows is None and meta["per_page"] == 50 and meta["page"] == 999
    unknown = requests.get(f"{url}/NOT.AN.INDICATOR", params={"format": "json"}, timeout=30)
    assert unknown.json()[0]["message"][0]["id"] == "120"


def test_worldbank_country_list_has_economies_and_aggregates(server):
    meta, rows = requests.get(
        f"{server.worldbank_base_url}/country", params={"per_page": 1000}, timeout=30
    ).json()
    assert meta["per_page"] == "1000" and meta["total"] == len(rows)
    by_id = {row["id"]: row for row in rows}
    assert set(load_real().wdi["iso3"]) | {code for code, _, _ in WB_AGGREGATES} == set(by_id)
    assert all(by_id[code]["region"]["id"] == "NA" for code, _, _ in WB_AGGREGATES)
    assert by_id["TJK"]["region"]["id"] == "ECS" and by_id["NAM"]["iso2Code"] == "NA"
    assert by_id["CHI"]["iso2Code"] == "JG" and by_id["TWN"]["iso2Code"] == "TW"
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)


def test_workbook_reads_back_with_real_tajikistan_diaspora(server):
    response = requests.get(server.undesa_ims_url, timeout=30)
    assert response.headers["Content-Type"] == XLSX_TYPE and server.undesa_ims_url.endswith(IMS_FILE_NAME)
    sheet = pd.read_excel(server.ims_info.path, sheet_name="Table 1", header=None, engine="calamine")
    (header_at,) = sheet.index[sheet[0] == "Index"]
    table = sheet.iloc[header_at + 1 :]
    assert len(table) == server.ims_info.workbook_rows
    assert sheet.iloc[header_at, 4] == "Location code of destination"
    # 2024 heads three columns: both sexes, males, females (the workbook's block order).
    both_2024, male_2024, _ = sheet.columns[sheet.iloc[header_at] == 2024]
    tajiks = table[(table[4] == 900) & (table[6] == 762)]  # born in Tajikistan, living anywhere
    assert tajiks[both_2024].tolist() == [514_478]
    assert round(tajiks[male_2024].iloc[0] / 514_478 * 100, 1) == 57.4
    # Pinned timestamps (so equal data gives equal bytes) must still be valid document properties.
    properties = openpyxl.load_workbook(server.ims_info.path, read_only=True).properties
    assert properties.created.isoformat() == XLSX_TIMESTAMP.removesuffix("Z")
    assert response.content == server.ims_info.path.read_bytes()


def test_unhcr_real_figures_and_pagination(server):
    items_2024 = server.unhcr.items(2024, 2024)
    assert sum(item["refugees"] for item in items_2024 if item["coo_iso"] == "TJK") == 4045
    codes = {item["coo_iso"] for item in items_2024} | {item["coa_iso"] for item in items_2024}
    assert {"UNK", "XXA", "TIB"} <= codes
    url = f"{server.unhcr_base_url}/population/"
    params = {"yearFrom": 1951, "yearTo": 2025, "coo_all": "true", "coa_all": "true", "cf_type": "ISO"}
    first = requests.get(url, params={**params, "limit": 10000, "page": 1}, timeout=60).json()
    pages = [first] + [
        requests.get(url, params={**params, "limit": 10000, "page": page}, timeout=60).json()
        for page in range(2, first["maxPages"] + 1)
    ]
    served = [item for page in pages for item in page["items"]]
    assert served == server.unhcr.items() and len(served) == len(load_real().unhcr)
    assert list(served[0]) == ["year", "coo_id", "coo_name", "coo", "coo_iso", "coa_id", "coa_name"] + [
        "coa",
        "coa_iso",
        "refugees",
        "asylum_seekers",
        "returned_refugees",
        "idps",
        "returned_idps",
        "stateless",
        "ooc",
        "oip",
        "hst",
    ]


def test_server_answers_concurrent_requests_and_404(server):
    urls = [
        f"{server.worldbank_base_url}/country/all/indicator/SM.POP.NETM?per_page=500&page={p}"
        for p in (1, 2, 3)
    ]
    urls += [f"{server.unhcr_base_url}/population?limit=5&yearFrom=2024&yearTo=2024"] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda url: requests.get(url, timeout=30).status_code, urls))
    assert statuses == [200] * 6
    assert requests.get(f"{server.base_url}/nowhere", timeout=30).status_code == 404
    assert requests.get(f"{server.base_url}/undesa/other.xlsx", timeout=30).status_code == 404
