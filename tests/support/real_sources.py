"""Full-size test payloads built from the REAL public data in ``../shared/data/real/``.

Each source is served in its own published format by a local HTTP server
(:class:`RealSourcesServer`): World Bank Indicators API v2 pages, the UN DESA International
Migrant Stock 2024 "Table 1" workbook and UNHCR Refugee Population API pages. The folder can be
moved with ``DIASPORA_REAL_DATA_DIR``; tests call :func:`require_real_data` to skip (or, with
``DIASPORA_REQUIRE_REAL_DATA=1``, fail) when it is absent.

REAL figures (read unchanged from the files):
  - World Bank values of BX.TRF.PWKR.CD.DT, BM.TRF.PWKR.CD.DT, NY.GDP.MKTP.CD, SP.POP.TOTL,
    SM.POP.NETM (238 economies) and NY.GDP.PCAP.PP.KD (GDP per head in PPP), emitted exactly as
    the CSV float reads (no rounding);
  - UN DESA female and male migrant stock per destination × origin pair, 1990–2024, and each
    destination's estimate basis (data type letters B, C, R, I);
  - every UNHCR population count (refugees, asylum_seekers, ..., oip, hst) and its names/codes;
  - names, ISO2 and M49 codes from the countries table.

DERIVED from real figures (computed here, not published in this form):
  - BX.TRF.PWKR.DT.GD.ZS = BX.TRF.PWKR.CD.DT / NY.GDP.MKTP.CD * 100 (the files lack it);
  - UN DESA "both sexes" = female + male, every destination's total row (origin 900 "World")
    and the aggregate destinations (World, regions, subregions) = sums of the country rows.

SYNTHETIC / APPROXIMATED (invented structure, not the publishers' own):
  - World Bank economies' ``region`` and ``incomeLevel``: approximated from the UN M49 regions and
    from GDP per head against the FY2025 thresholds; NOT the World Bank's classification.
    ``lendingType`` is always "Not classified"; capital cities and coordinates are blank;
  - World Bank aggregates (WLD, ECS, ...) are listed but every value of theirs is null, and
    SM.POP.TOTL and SM.POP.REFG.OR are all null (the files carry no such figures);
  - ``lastupdated`` = :data:`LASTUPDATED`, a test label;
  - UNHCR ``coo_id``/``coa_id`` are 0 and ``total`` is ``{}``; UN DESA coverage cells are empty.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from tests.support import ROOT
from tests.support.ims_workbook import IMS_2024, Edition, Row, write_workbook

FILES = ("wdi_series.csv.gz", "undesa_ims_2024_stock.csv.gz", "unhcr_population.csv.gz", "countries.csv.gz")
# GDP per head in PPP (NY.GDP.PCAP.PP.KD), same columns as wdi_series: read into RealData.wdi.
WDI_PPP_FILE = "wdi_gdp_per_head_ppp.csv.gz"


def _default_real_data_dir() -> Path:
    """``shared/data/real`` beside the repository (``../shared/data/real``), or beside one of its
    parent folders, for a checkout placed deeper; the sibling path when none holds it."""
    repository = ROOT
    for folder in repository.parents:
        candidate = folder / "shared" / "data" / "real"
        if (candidate / FILES[0]).is_file():
            return candidate
    return repository.parent / "shared" / "data" / "real"


REAL_DATA_DIR = Path(os.environ.get("DIASPORA_REAL_DATA_DIR") or _default_real_data_dir())


def real_data_available(directory: Path = REAL_DATA_DIR) -> bool:
    return all((directory / name).is_file() for name in (*FILES, WDI_PPP_FILE))


def require_real_data(directory: Path = REAL_DATA_DIR) -> None:
    """Skip the calling test when the real data is absent; fail instead if it is required."""
    if real_data_available(directory):
        return
    import pytest  # lazily: bench scripts import this module without pytest

    message = (
        f"real public data not found in {directory} (expected {', '.join(FILES)}); "
        "set DIASPORA_REAL_DATA_DIR to the folder holding them"
    )
    if os.environ.get("DIASPORA_REQUIRE_REAL_DATA") == "1":
        pytest.fail(f"DIASPORA_REQUIRE_REAL_DATA=1 but {message}")
    pytest.skip(message)


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class RealData:
    wdi: pd.DataFrame
    ims: pd.DataFrame
    unhcr: pd.DataFrame
    countries: pd.DataFrame


@functools.lru_cache(maxsize=4)
def load_real(directory: Path = REAL_DATA_DIR) -> RealData:
    """The four files, read once. ``keep_default_na=False`` keeps Namibia's ISO2 "NA" a string
    (pandas >= 3 parses floats exactly, so served values equal the CSV text)."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(directory / name, keep_default_na=False)

    wdi, *others = (read(name) for name in FILES)
    wdi = pd.concat([wdi, read(WDI_PPP_FILE)], ignore_index=True)
    return RealData(wdi, *others)


# === World Bank Indicators API v2 ============================================================

# A test label, NOT the real WDI release date: the files do not say which release they are.
LASTUPDATED = "2025-07-01"
WB_FIRST_YEAR, WB_LAST_YEAR = 1960, 2024
WB_DEFAULT_PER_PAGE = 50
WB_INDICATORS = {
    "BX.TRF.PWKR.CD.DT": "Personal remittances, received (current US$)",
    "BX.TRF.PWKR.DT.GD.ZS": "Personal remittances, received (% of GDP)",
    "BM.TRF.PWKR.CD.DT": "Personal remittances, paid (current US$)",
    "NY.GDP.MKTP.CD": "GDP (current US$)",
    "NY.GDP.PCAP.PP.KD": "GDP per capita, PPP (constant 2021 international $)",
    "SP.POP.TOTL": "Population, total",
    "SM.POP.TOTL": "International migrant stock, total",
    "SM.POP.NETM": "Net migration",
    "SM.POP.REFG.OR": "Refugee population by country or territory of origin",
}
REMITTANCES, REMITTANCES_GDP, GDP, POPULATION = (
    "BX.TRF.PWKR.CD.DT",
    "BX.TRF.PWKR.DT.GD.ZS",
    "NY.GDP.MKTP.CD",
    "SP.POP.TOTL",
)
WB_INVALID_VALUE = [
    {"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}
]
# The World Bank's aggregate codes: (id, iso2Code, name).
WB_AGGREGATES = [
    ("AFE", "ZH", "Africa Eastern and Southern"),
    ("AFW", "ZI", "Africa Western and Central"),
    ("ARB", "1A", "Arab World"),
    ("CEB", "B8", "Central Europe and the Baltics"),
    ("CSS", "S3", "Caribbean small states"),
    ("EAP", "4E", "East Asia & Pacific (excluding high income)"),
    ("EAR", "V2", "Early-demographic dividend"),
    ("EAS", "Z4", "East Asia & Pacific"),
    ("ECA", "7E", "Europe & Central Asia (excluding high income)"),
    ("ECS", "Z7", "Europe & Central Asia"),
    ("EMU", "XC", "Euro area"),
    ("EUU", "EU", "European Union"),
    ("FCS", "F1", "Fragile and conflict affected situations"),
    ("HIC", "XD", "High income"),
    ("HPC", "XE", "Heavily indebted poor countries (HIPC)"),
    ("IBD", "XF", "IBRD only"),
    ("IBT", "ZT", "IDA & IBRD total"),
    ("IDA", "XG", "IDA total"),
    ("IDB", "XH", "IDA blend"),
    ("IDX", "XI", "IDA only"),
    ("INX", "XY", "Not classified"),
    ("LAC", "XJ", "Latin America & Caribbean (excluding high income)"),
    ("LCN", "ZJ", "Latin America & Caribbean"),
    ("LDC", "XL", "Least developed countries: UN classification"),
    ("LIC", "XM", "Low income"),
    ("LMC", "XN", "Lower middle income"),
    ("LMY", "XO", "Low & middle income"),
    ("LTE", "V3", "Late-demographic dividend"),
    ("MEA", "ZQ", "Middle East & North Africa"),
    ("MIC", "XP", "Middle income"),
    ("MNA", "XQ", "Middle East & North Africa (excluding high income)"),
    ("NAC", "XU", "North America"),
    ("OED", "OE", "OECD members"),
    ("OSS", "S4", "Other small states"),
    ("PRE", "V1", "Pre-demographic dividend"),
    ("PSS", "S2", "Pacific island small states"),
    ("PST", "V4", "Post-demographic dividend"),
    ("SAS", "8S", "South Asia"),
    ("SSA", "ZF", "Sub-Saharan Africa (excluding high income)"),
    ("SSF", "ZG", "Sub-Saharan Africa"),
    ("SST", "S1", "Small states"),
    ("TEA", "T4", "East Asia & Pacific (IDA & IBRD countries)"),
    ("TEC", "T7", "Europe & Central Asia (IDA & IBRD countries)"),
    ("TLA", "T2", "Latin America & the Caribbean (IDA & IBRD countries)"),
    ("TMN", "T3", "Middle East & North Africa (IDA & IBRD countries)"),
    ("TSA", "T5", "South Asia (IDA & IBRD)"),
    ("TSS", "T6", "Sub-Saharan Africa (IDA & IBRD countries)"),
    ("UMC", "XT", "Upper middle income"),
    ("WLD", "1W", "World"),
]
_AGGREGATE_ISO2 = {code: iso2 for code, iso2, _ in WB_AGGREGATES}
_AGGREGATE_NAME = {code: name for code, _, name in WB_AGGREGATES}
# Economies the countries table lacks or spells without an ISO2.
WB_ISO2_OVERRIDES = {"CHI": "JG", "TWN": "TW"}
WB_NAME_OVERRIDES = {"CHI": "Channel Islands"}
# APPROXIMATION of the World Bank regions from UN M49 (sub)regions (see module docstring).
_WESTERN_ASIA_IN_ECS = {"ARM", "AZE", "GEO", "CYP", "TUR"}
_SUBREGION_TO_WB = {
    "Northern Africa": "MEA",
    "Sub-Saharan Africa": "SSF",
    "Latin America and the Caribbean": "LCN",
    "Northern America": "NAC",
    "Southern Asia": "SAS",
    "Eastern Asia": "EAS",
    "South-eastern Asia": "EAS",
}
# APPROXIMATION of the income groups: GDP per head (US$) below each threshold, FY2025 levels.
INCOME_THRESHOLDS = [(1_145, "LIC"), (4_515, "LMC"), (14_005, "UMC")]


def _ref(code: str, iso2: str, value: str) -> dict[str, str]:
    return {"id": code, "iso2code": iso2, "value": value}


def _group_ref(code: str) -> dict[str, str]:
    """A reference to one of the aggregates, as economies' region and incomeLevel are."""
    return _ref(code, _AGGREGATE_ISO2[code], _AGGREGATE_NAME[code])


def _blank() -> dict[str, str]:
    return _ref("", "", "")


def _aggregates_marker() -> dict[str, str]:
    """What aggregates carry in place of a region, income level and lending type."""
    return _ref("NA", "NA", "Aggregates")


def approximate_wb_region(iso3: str, region: str, subregion: str) -> str:
    """A World Bank region code guessed from UN M49 (sub)regions; Europe and the rest → ECS."""
    if iso3 == "IRN" or (subregion == "Western Asia" and iso3 not in _WESTERN_ASIA_IN_ECS):
        return "MEA"
    if subregion in _SUBREGION_TO_WB:
        return _SUBREGION_TO_WB[subregion]
    if region == "Oceania":
        return "EAS"
    return "ECS"  # Europe, Central Asia, the five Western Asian exceptions, CHI


def approximate_income_level(gdp_per_head: float | None) -> str:
    if gdp_per_head is None or not math.isfinite(gdp_per_head):
        return "INX"
    for threshold, code in INCOME_THRESHOLDS:
        if gdp_per_head < threshold:
            return code
    return "HIC"


def _latest_gdp_per_head(wdi: pd.DataFrame) -> dict[str, float]:
    """GDP / population in each economy's latest year that has both."""
    both = (
        wdi[wdi["indicator"].isin([GDP, POPULATION])]
        .set_index(["iso3", "year", "indicator"])["value"]
        .unstack("indicator")
        .dropna()
        .reset_index()
        .sort_values(["iso3", "year"])
        .drop_duplicates("iso3", keep="last")
    )
    return dict(zip(both["iso3"], both[GDP] / both[POPULATION], strict=True))


@dataclass(frozen=True)
class Entity:
    """One row of the country list: an economy or an aggregate."""

    iso3: str
    iso2: str
    name: str
    region: str | None  # None for aggregates
    income: str | None


def _paged(rows: list, per_page: int, page: int) -> tuple[int, list | None]:
    """(pages, this page's rows or None past the end), as the World Bank API pages."""
    pages = math.ceil(len(rows) / per_page)
    chunk = rows[(page - 1) * per_page : page * per_page] if page >= 1 else []
    return pages, chunk or None


class WorldBankApi:
    """World Bank Indicators API v2 look-alike over the real WDI figures (see module docstring)."""

    def __init__(self, data: RealData | None = None) -> None:
        data = data or load_real()
        self.entities = self._entities(data)
        self._values = self._indicator_values(data.wdi)
        self._country_rows = [self._country_row(entity) for entity in self.entities]
        self._cache: dict[tuple[str, int, int], list[dict]] = {}
        self._lock = threading.Lock()
        self.lastupdated = LASTUPDATED

    def publish_revision(self, lastupdated: str, values: dict[tuple[str, str, int], float]) -> None:
        """Serve a later release: ``lastupdated`` and the (indicator, ISO3, year) ``values`` changed
        (a SYNTHETIC revision of the real figures, as the World Bank restates past years)."""
        with self._lock:
            for (code, iso3, year), value in values.items():
                self._values[code][(iso3, year)] = value
            self.lastupdated = lastupdated
            self._cache.clear()

    @staticmethod
    def _entities(data: RealData) -> list[Entity]:
        table = {row.iso3: row for row in data.countries.itertuples(index=False)}
        per_head = _latest_gdp_per_head(data.wdi)
        entities = []
        for iso3 in sorted(data.wdi["iso3"].unique()):
            row = table.get(iso3)  # None for CHI, which has no ISO 3166 code
            iso2 = WB_ISO2_OVERRIDES.get(iso3) or (row.iso2 if row else "")
            name = WB_NAME_OVERRIDES.get(iso3) or (row.name if row else iso3)
            region = approximate_wb_region(iso3, row.region if row else "", row.subregion if row else "")
            entities.append(Entity(iso3, iso2, name, region, approximate_income_level(per_head.get(iso3))))
        entities += [Entity(code, iso2, name, None, None) for code, iso2, name in WB_AGGREGATES]
        return sorted(entities, key=lambda e: (e.name, e.iso3))  # the real API lists by name

    @staticmethod
    def _indicator_values(wdi: pd.DataFrame) -> dict[str, dict[tuple[str, int], float]]:
        values: dict[str, dict[tuple[str, int], float]] = {code: {} for code in WB_INDICATORS}
        for code, group in wdi.groupby("indicator", sort=True):
            if code in values:
                keys = zip(group["iso3"].tolist(), group["year"].tolist(), strict=True)
                values[code] = dict(zip(keys, group["value"].tolist(), strict=True))
        # DERIVED: the files lack the % of GDP series; compute it where both inputs exist.
        gdp = values[GDP]
        values[REMITTANCES_GDP] = {
            key: value / gdp[key] * 100 for key, value in values[REMITTANCES].items() if gdp.get(key)
        }
        return values

    @staticmethod
    def _country_row(entity: Entity) -> dict:
        aggregate = entity.region is None
        return {
            "id": entity.iso3,
            "iso2Code": entity.iso2,
            "name": entity.name,
            "region": _aggregates_marker() if aggregate else _group_ref(entity.region),
            "adminregion": _blank(),
            "incomeLevel": _aggregates_marker() if aggregate else _group_ref(entity.income),
            "lendingType": _aggregates_marker() if aggregate else _ref("LNX", "XX", "Not classified"),
            "capitalCity": "",
            "longitude": "",
            "latitude": "",
        }

    def country_rows(self) -> list[dict]:
        """Every economy and aggregate, by name, as ``/country`` lists them."""
        return json.loads(json.dumps(self._country_rows))  # a copy callers may change

    def indicator_rows(
        self, code: str, first_year: int = WB_FIRST_YEAR, last_year: int = WB_LAST_YEAR
    ) -> list[dict]:
        """Every entity × year of ``code`` in the range (clamped to 1960–2024): by name, newest year
        first; null where the files have no figure. KeyError for an unknown code."""
        values = self._values[code]
        indicator = {"id": code, "value": WB_INDICATORS[code]}
        years = range(min(last_year, WB_LAST_YEAR), max(first_year, WB_FIRST_YEAR) - 1, -1)
        return [
            {
                "indicator": dict(indicator),
                "country": {"id": entity.iso2, "value": entity.name},
                "countryiso3code": entity.iso3,
                "date": str(year),
                "value": values.get((entity.iso3, year)),
                "unit": "",
                "obs_status": "",
                "decimal": 0,
            }
            for entity in self.entities
            for year in years
        ]

    def _cached_rows(self, code: str, first_year: int, last_year: int) -> list[dict]:
        key = (code, first_year, last_year)
        with self._lock:  # the server is threaded; build each range once
            if key not in self._cache:
                self._cache[key] = self.indicator_rows(code, first_year, last_year)
            return self._cache[key]

    def country_page(self, query: dict[str, str]) -> list:
        per_page, page = _int(query, "per_page", WB_DEFAULT_PER_PAGE), _int(query, "page", 1)
        pages, rows = _paged(self._country_rows, per_page, page)
        meta = {"page": page, "pages": pages, "per_page": str(per_page), "total": len(self._country_rows)}
        return [meta, rows]

    def indicator_page(self, code: str, query: dict[str, str]) -> list:
        if code not in WB_INDICATORS:
            return WB_INVALID_VALUE
        first_year, last_year = _date_range(query.get("date", ""))
        rows = self._cached_rows(code, first_year, last_year)
        per_page, page = _int(query, "per_page", WB_DEFAULT_PER_PAGE), _int(query, "page", 1)
        pages, chunk = _paged(rows, per_page, page)
        meta = {
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "total": len(rows),
            "sourceid": "2",
            "lastupdated": self.lastupdated,
        }
        return [meta, chunk]


def _int(query: dict[str, str], name: str, default: int) -> int:
    try:
        return max(1, int(query[name]))
    except (KeyError, ValueError):
        return default


def _date_range(value: str) -> tuple[int, int]:
    """``date=A:B`` or ``date=A``; anything else means all years."""
    match = re.fullmatch(r"(\d{4})(?::(\d{4}))?", value.strip())
    if not match:
        return WB_FIRST_YEAR, WB_LAST_YEAR
    first = int(match.group(1))
    return first, int(match.group(2) or first)


# === UN DESA International Migrant Stock, Table 1 (the 2020 and 2024 editions) ================

IMS_FILE_NAME = "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
IMS_2020_FILE = "undesa_ims_2020_stock.csv.gz"  # the earlier real edition (not needed by FILES' users)
IMS_SEXES = ("both", "male", "female")  # the workbook's order of the three year blocks


def ims_columns(edition: Edition) -> list[tuple[str, int]]:
    return [(sex, year) for sex in IMS_SEXES for year in edition.years]


def load_ims_2020(directory: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """The REAL IMS 2020 edition (``undesa_ims_2020_stock.csv.gz``), the same columns as 2024's."""
    path = directory / IMS_2020_FILE
    if not path.is_file():
        import pytest

        message = f"the real IMS 2020 edition {path} is absent; set DIASPORA_REAL_DATA_DIR"
        if os.environ.get("DIASPORA_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"DIASPORA_REQUIRE_REAL_DATA=1 but {message}")
        pytest.skip(message)
    return _read_ims_2020(path)


@functools.lru_cache(maxsize=1)
def _read_ims_2020(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False)


WORLD = (900, "World")
OTHER_ISO3, OTHER = "OOO", (2003, "Other")  # UN DESA's residual origin
IMS_REGIONS = [  # (code, name, countries.csv column, its value)
    (903, "Africa", "region", "Africa"),
    (935, "Asia", "region", "Asia"),
    (908, "Europe", "region", "Europe"),
    (904, "Latin America and the Caribbean", "subregion", "Latin America and the Caribbean"),
    (905, "Northern America", "subregion", "Northern America"),
    (909, "Oceania", "region", "Oceania"),
    (5500, "Central Asia", "subregion", "Central Asia"),
    (5501, "Southern Asia", "subregion", "Southern Asia"),
    (906, "Eastern Asia", "subregion", "Eastern Asia"),
    (920, "South-Eastern Asia", "subregion", "South-eastern Asia"),
    (922, "Western Asia", "subregion", "Western Asia"),
    (923, "Eastern Europe", "subregion", "Eastern Europe"),
    (924, "Northern Europe", "subregion", "Northern Europe"),
    (925, "Southern Europe", "subregion", "Southern Europe"),
    (926, "Western Europe", "subregion", "Western Europe"),
    (912, "Northern Africa", "subregion", "Northern Africa"),
]
# A fixed label, not UN DESA's publication time (openpyxl would stamp the time of the test run).
XLSX_TIMESTAMP = "2025-01-15T00:00:00Z"
_ZIP_TIME = (2025, 1, 15, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)([^<]*)(</dcterms:)")
_TYPE_LETTERS = (("type_b", "B"), ("type_c", "C"), ("type_r", "R"), ("type_i", "I"))


@dataclass(frozen=True)
class ImsWorkbookInfo:
    """Counts of the data rows written: ``country_pair_rows`` are the destination × origin rows of
    countries (one per CSV pair), ``aggregate_rows`` every row of an aggregate destination block
    (its total row included); the rest are the countries' total rows."""

    path: Path
    workbook_rows: int
    country_pair_rows: int
    aggregate_rows: int

    @property
    def country_total_rows(self) -> int:
        return self.workbook_rows - self.country_pair_rows - self.aggregate_rows


def _ims_wide(ims: pd.DataFrame, edition: Edition) -> pd.DataFrame:
    """One row per (destination, origin), 3 × years columns in workbook order; NaN where a year is
    missing."""
    wide = ims.set_index(["destination_iso3", "origin_iso3", "sex", "year"])["n"].unstack(["sex", "year"])
    by_sex = {
        sex: wide.reindex(columns=[(sex, y) for y in edition.years]).to_numpy(float)
        for sex in ("female", "male")
    }
    both = by_sex["female"] + by_sex["male"]  # DERIVED; NaN (→ "..") if either sex is missing
    values = np.hstack([both, by_sex["male"], by_sex["female"]])
    return pd.DataFrame(values, index=wide.index, columns=pd.MultiIndex.from_tuples(ims_columns(edition)))


def _data_types(ims: pd.DataFrame) -> dict[str, str]:
    flags = ims.drop_duplicates("destination_iso3").set_index("destination_iso3")
    return {
        iso3: " ".join(letter for column, letter in _TYPE_LETTERS if row[column])
        for iso3, row in flags.iterrows()
    }


def _cells(values: np.ndarray, columns: list[tuple[str, int]]) -> dict[tuple[str, int], float | str | None]:
    """Workbook cells: whole numbers, ".." where a figure is missing (as UN DESA writes it)."""
    return {key: ".." if math.isnan(v) else int(v) for key, v in zip(columns, values.tolist(), strict=True)}


def _block(
    destination: tuple[int, str],
    by_origin: pd.DataFrame,
    locate: Callable[[str], tuple[int, str]],
    data_type: str | None,
) -> list[Row]:
    """A destination block: the total row (origin World), then origins by name, "Other" last."""
    columns = list(by_origin.columns)
    total = by_origin.sum(min_count=1).to_numpy(float)
    origins = sorted(by_origin.index, key=lambda iso3: (iso3 == OTHER_ISO3, locate(iso3)[1], iso3))
    matrix = by_origin.loc[origins].to_numpy(float)
    rows = [Row(destination, WORLD, _cells(total, columns), data_type=data_type)]
    rows += [
        Row(destination, locate(o), _cells(v, columns), data_type=data_type)
        for o, v in zip(origins, matrix, strict=True)
    ]
    return rows


def _m49_locations(countries: pd.DataFrame) -> dict[str, tuple[int, str]]:
    locations = {
        iso3: (int(code), name) for iso3, code, name in countries[["iso3", "m49", "name"]].values if code
    }
    locations[OTHER_ISO3] = OTHER  # the countries table calls it "Unknown"; the workbook "Other"
    return locations


def _aggregate_blocks(wide: pd.DataFrame, countries: pd.DataFrame, locate: Callable) -> list[Row]:
    """COMPUTED aggregates: World, then the regions and subregions, each the sum of its countries."""
    destinations = wide.index.get_level_values(0)
    rows = _block(WORLD, wide.groupby(level=1).sum(min_count=1), locate, None)
    for code, name, column, value in IMS_REGIONS:
        members = wide[destinations.isin(countries.loc[countries[column] == value, "iso3"])]
        rows += _block((code, name), members.groupby(level=1).sum(min_count=1), locate, None)
    return rows


def _ims_blocks(
    ims: pd.DataFrame, countries: pd.DataFrame, edition: Edition = IMS_2024
) -> tuple[list[Row], list[Row]]:
    """(aggregate rows, country rows) in workbook order."""
    m49 = _m49_locations(countries)
    wide = _ims_wide(ims, edition)
    aggregates = _aggregate_blocks(wide, countries, m49.__getitem__)
    types = _data_types(ims)
    country_rows: list[Row] = []
    for iso3 in sorted(wide.index.get_level_values(0).unique(), key=lambda d: (m49[d][1], d)):
        country_rows += _block(m49[iso3], wide.loc[iso3], m49.__getitem__, types[iso3])
    return aggregates, country_rows


def build_ims_rows(data: RealData | None = None) -> list[Row]:
    """Every data row of Table 1: aggregate destination blocks, then countries by name."""
    data = data or load_real()
    aggregates, countries = _ims_blocks(data.ims, data.countries)
    return aggregates + countries


def _make_reproducible(path: Path) -> None:
    """Pin the times openpyxl stamps (document properties, zip entries) so equal data gives equal
    bytes: the project lands payloads by sha256, and a new hash would look like a new release."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, content in entries:
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + XLSX_TIMESTAMP.encode() + rb"\g<3>", content)
            pinned = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            pinned.compress_type, pinned.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            target.writestr(pinned, content)


def write_ims_workbook(
    path: Path, data: RealData | None = None, edition: Edition = IMS_2024, ims: pd.DataFrame | None = None
) -> ImsWorkbookInfo:
    """Write Table 1 of ``edition`` in its own layout from the real stock figures ``ims`` (default:
    the 2024 edition's); the same data always gives the same bytes."""
    data = data or load_real()
    ims = data.ims if ims is None else ims
    aggregates, countries = _ims_blocks(ims, data.countries, edition)
    write_workbook(path, aggregates + countries, edition=edition)
    _make_reproducible(path)
    pairs = ims[["destination_iso3", "origin_iso3"]].drop_duplicates()
    return ImsWorkbookInfo(path, len(aggregates) + len(countries), len(pairs), len(aggregates))


# === UNHCR Refugee Population API v1 =========================================================

UNHCR_DEFAULT_LIMIT = 100
UNHCR_FIELDS = [
    "year",
    "coo_id",
    "coo_name",
    "coo",
    "coo_iso",
    "coa_id",
    "coa_name",
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


class UnhcrApi:
    """UNHCR ``/population/`` look-alike over the real table, in CSV order (see module docstring)."""

    def __init__(self, data: RealData | None = None) -> None:
        table = (data or load_real()).unhcr
        self._years = np.asarray(table["year"])
        self._items = self._build_items(table)
        self._cache: dict[tuple[int | None, int | None], list[dict]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _build_items(table: pd.DataFrame) -> list[dict]:
        """One dict per CSV row, fields in the API's order; ``tolist`` gives JSON-ready ints."""
        columns = {name: table[name].tolist() for name in UNHCR_FIELDS if name not in ("coo_id", "coa_id")}
        columns["oip"] = [int(v) if v != "" else None for v in table["oip"].astype(str)]  # mostly empty
        columns["coo_id"] = columns["coa_id"] = [0] * len(table)  # SYNTHETIC placeholder ids
        return [
            dict(zip(UNHCR_FIELDS, values, strict=True))
            for values in zip(*(columns[name] for name in UNHCR_FIELDS), strict=True)
        ]

    def items(self, year_from: int | None = None, year_to: int | None = None) -> list[dict]:
        """Rows with year_from <= year <= year_to (unbounded where None), in CSV order. The dicts
        are the ones the server sends: read them, do not change them."""
        low = -math.inf if year_from is None else year_from
        high = math.inf if year_to is None else year_to
        keep = np.flatnonzero((self._years >= low) & (self._years <= high))
        return [self._items[i] for i in keep]

    def page(self, query: dict[str, str]) -> dict:
        """``coo_all``, ``coa_all`` and ``cf_type`` are accepted: the table is already per pair."""
        key = (_int_or(query, "yearFrom", None), _int_or(query, "yearTo", None))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self.items(*key)
            items = self._cache[key]
        limit, page = _int(query, "limit", UNHCR_DEFAULT_LIMIT), _int(query, "page", 1)
        pages = max(1, math.ceil(len(items) / limit))
        return {
            "page": page,
            "maxPages": pages,
            "total": {},
            "items": items[(page - 1) * limit : page * limit],
        }


def _int_or(query: dict[str, str], name: str, default: int | None) -> int | None:
    try:
        return int(query[name])
    except (KeyError, ValueError):
        return default


# === the server ==============================================================================

JSON_TYPE = "application/json;charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WB_COUNTRY = re.compile(r"^/worldbank/v2/country/?$")
_WB_INDICATOR = re.compile(r"^/worldbank/v2/country/all/indicator/([^/]+)/?$")
_UNHCR_POPULATION = re.compile(r"^/unhcr/population/v1/population/?$")
_UNDESA_FILE = re.compile(r"^/undesa/([^/]+\.xlsx)$")
# The World Bank/KNOMAD Bilateral Remittance Matrix 2017, served unchanged as published.
KNOMAD_FILE_NAME = "knomad_bilateral_remittances_2017.xlsx"
_KNOMAD_PATH = f"/knomad/{KNOMAD_FILE_NAME}"


class RealSourcesServer:
    """The sources on one local threaded HTTP server (World Bank pages, the UN DESA workbook, UNHCR
    pages, the published KNOMAD matrix); use as a context manager.

    Building takes a few seconds (the workbook is written into ``workdir``); ``requests`` records
    every path (with query) served, for tests that count calls.
    """

    def __init__(self, workdir: Path, data: RealData | None = None, *, with_workbook: bool = True) -> None:
        """The 2024 workbook is written at once unless ``with_workbook`` is False (then the server
        answers 404 for it until :meth:`serve_ims`)."""
        data = data or load_real()
        self.worldbank = WorldBankApi(data)
        self.unhcr = UnhcrApi(data)
        self.ims_info = write_ims_workbook(Path(workdir) / IMS_FILE_NAME, data) if with_workbook else None
        self._workbook = self.ims_info.path.read_bytes() if self.ims_info else b""
        knomad = REAL_DATA_DIR / KNOMAD_FILE_NAME
        self._knomad = knomad.read_bytes() if knomad.is_file() else b""
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def serve_ims(self, info: ImsWorkbookInfo) -> ImsWorkbookInfo:
        """Serve a workbook written before (by :func:`write_ims_workbook`; another edition, say) at
        the same URL: the next edition replaces the file, as UN DESA's download page does."""
        self.ims_info, self._workbook = info, info.path.read_bytes()
        return info

    def publish_unhcr(self, table: pd.DataFrame) -> None:
        """Serve ``table`` (the real population table's columns) as UNHCR's next release."""
        self.unhcr = UnhcrApi(
            RealData(wdi=pd.DataFrame(), ims=pd.DataFrame(), unhcr=table, countries=pd.DataFrame())
        )

    # --- lifecycle ---

    def __enter__(self) -> RealSourcesServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("RealSourcesServer is not running: use it in a with block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def worldbank_base_url(self) -> str:
        return f"{self.base_url}/worldbank/v2"

    @property
    def unhcr_base_url(self) -> str:
        return f"{self.base_url}/unhcr/population/v1"

    @property
    def undesa_ims_url(self) -> str:
        return f"{self.base_url}/undesa/{IMS_FILE_NAME}"

    @property
    def knomad_matrix_url(self) -> str:
        return f"{self.base_url}{_KNOMAD_PATH}"

    # --- routing ---

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request path with its query string."""
        parts = urlsplit(path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if _WB_COUNTRY.match(parts.path):
            return _json(self.worldbank.country_page(query))
        if match := _WB_INDICATOR.match(parts.path):
            return _json(self.worldbank.indicator_page(match.group(1), query))
        if _UNHCR_POPULATION.match(parts.path):
            return _json(self.unhcr.page(query))
        if (match := _UNDESA_FILE.match(parts.path)) and match.group(1) == IMS_FILE_NAME and self._workbook:
            return 200, XLSX_TYPE, self._workbook
        if parts.path == _KNOMAD_PATH and self._knomad:
            return 200, XLSX_TYPE, self._knomad
        return 404, "text/plain; charset=utf-8", f"not found: {parts.path}".encode()

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the http.server API
                server._record(self.path)
                try:
                    status, content_type, body = server.respond(self.path)
                except Exception as exc:  # a broken builder answers 500 with its reason, not a hang
                    status, content_type, body = 500, "text/plain; charset=utf-8", repr(exc).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet: tests read no logs
                pass

        return Handler


def _json(body: object) -> tuple[int, str, bytes]:
    return 200, JSON_TYPE, json.dumps(body, separators=(",", ":")).encode()


def payload_counts(server: RealSourcesServer, first_year: int = 1990) -> dict[str, int]:
    """Rows each source serves, for benchmark reports: WB rows per indicator, workbook, UNHCR."""
    counts = {
        f"worldbank {code} {first_year}:{WB_LAST_YEAR}": len(
            server.worldbank.indicator_rows(code, first_year)
        )
        for code in WB_INDICATORS
    }
    counts["worldbank /country"] = len(server.worldbank.country_rows())
    counts["undesa workbook rows"] = server.ims_info.workbook_rows
    counts["unhcr items, all years"] = len(server.unhcr.items())
    return counts
