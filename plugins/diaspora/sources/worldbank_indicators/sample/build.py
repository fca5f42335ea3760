"""Rebuild the offline World Bank snapshot (API v2 JSON pages) from figures.csv.

Run from the repository root:
``python plugins/diaspora/sources/worldbank_indicators/sample/build.py``. It rewrites
the payloads under ``api/`` and their pinned sha256 in ``SNAPSHOT.json``; the test suite checks
that the committed payloads still match those checksums.

Provenance (also written into SNAPSHOT.json):
- figures.csv: real figures, World Bank WDI (BX.TRF.PWKR.CD.DT, BM.TRF.PWKR.CD.DT and
  NY.GDP.MKTP.CD in current US$; SM.POP.NETM in persons), as given in the project's issue.
- SP.POP.TOTL for Tajikistan 2022 and 2023: real (UN WPP, as WDI carries it).
- BX.TRF.PWKR.DT.GD.ZS: SYNTHETIC, derived here as BX.TRF.PWKR.CD.DT / NY.GDP.MKTP.CD × 100 from
  the real figures; WDI's published value may differ in the last digits.
- NY.GDP.PCAP.PP.KD (ppp.csv): real, World Bank WDI GDP per head in PPP (constant 2021
  international $) as carried by IOM's gdidata package, 2015-2023, for Tajikistan, Kyrgyzstan,
  Uzbekistan and the destinations of the UN DESA sample; the names of countries outside the three
  above are the country library's, not the World Bank's spellings.
- SM.POP.TOTL and SM.POP.REFG.OR: no figures in this snapshot (empty pages, as the API sends).
- Country metadata: World Bank codes, names, regions and income groups of the three countries,
  plus two aggregates (World, Europe & Central Asia) flagged as the API flags them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # plugins/: the country library's names and ISO2 codes
API = HERE / "api"
RELEASE = "offline-snapshot-2026-11-22"  # not a WDI release date: this snapshot's own label
REAL = "real: World Bank WDI, figures given in the project's issue #2"

ECS = {"id": "ECS", "iso2code": "Z7", "value": "Europe & Central Asia"}
LMC = {"id": "LMC", "iso2code": "XN", "value": "Lower middle income"}
AGG = {"id": "NA", "iso2code": "NA", "value": "Aggregates"}
COUNTRIES = [
    {"id": "KGZ", "iso2Code": "KG", "name": "Kyrgyz Republic", "region": ECS, "incomeLevel": LMC},
    {"id": "TJK", "iso2Code": "TJ", "name": "Tajikistan", "region": ECS, "incomeLevel": LMC},
    {"id": "UZB", "iso2Code": "UZ", "name": "Uzbekistan", "region": ECS, "incomeLevel": LMC},
    {"id": "WLD", "iso2Code": "1W", "name": "World", "region": AGG, "incomeLevel": AGG},
    {
        "id": "ECS",
        "iso2Code": "Z7",
        "name": "Europe & Central Asia",
        "region": AGG,
        "incomeLevel": AGG,
    },
]
NAMES = {
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
ISO2 = {c["id"]: c["iso2Code"] for c in COUNTRIES}
NAME = {c["id"]: c["name"] for c in COUNTRIES}
POPULATION_TJK = {2022: 10182229, 2023: 10389808}  # real: UN WPP as carried by WDI


def page(rows: list | None, total: int) -> list:
    meta = {
        "page": 1,
        "pages": 1 if total else 0,
        "per_page": 1000,
        "total": total,
        "sourceid": "2",
        "sourcename": "World Development Indicators",
        "lastupdated": RELEASE,
    }
    return [meta, rows]


def _library_names() -> tuple[dict[str, str], dict[str, str]]:
    from diaspora.countries import country_table

    table = country_table()
    iso2 = dict(zip(table["country_code"], table["iso2"], strict=True))
    return iso2, dict(zip(table["country_code"], table["name"], strict=True))


def row(code: str, iso3: str, year: int, value: float | int | None) -> dict:
    if iso3 not in ISO2:
        iso2, names = _library_names()
        ISO2[iso3], NAME[iso3] = iso2[iso3], names[iso3]
    return {
        "indicator": {"id": code, "value": NAMES[code]},
        "country": {"id": ISO2[iso3], "value": NAME[iso3]},
        "countryiso3code": iso3,
        "date": str(year),
        "value": value,
        "unit": "",
        "obs_status": "",
        "decimal": 0,
    }


def build() -> dict:
    with open(HERE / "figures.csv", newline="") as handle:
        figures = list(csv.DictReader(handle))
    rows: dict[str, list] = {code: [] for code in NAMES}
    for fig in figures:
        iso3, year = fig["country"], int(fig["year"])
        for code in ("BX.TRF.PWKR.CD.DT", "BM.TRF.PWKR.CD.DT", "NY.GDP.MKTP.CD", "SM.POP.NETM"):
            rows[code].append(row(code, iso3, year, int(fig[code]) if fig[code] else None))
        received, gdp = fig["BX.TRF.PWKR.CD.DT"], fig["NY.GDP.MKTP.CD"]
        share = round(int(received) / int(gdp) * 100, 4) if received and gdp else None
        rows["BX.TRF.PWKR.DT.GD.ZS"].append(row("BX.TRF.PWKR.DT.GD.ZS", iso3, year, share))
    with open(HERE / "ppp.csv", newline="") as handle:
        for fig in csv.DictReader(handle):
            code = "NY.GDP.PCAP.PP.KD"
            rows[code].append(row(code, fig["country"], int(fig["year"]), float(fig[code])))
    for year, population in POPULATION_TJK.items():
        rows["SP.POP.TOTL"].append(row("SP.POP.TOTL", "TJK", year, population))

    files = {"country.json": page(COUNTRIES, len(COUNTRIES))}
    for code, code_rows in rows.items():
        files[f"country/all/indicator/{code}.json"] = page(code_rows or None, len(code_rows))
    checksums = {}
    for name, payload in files.items():
        target = API / name
        target.parent.mkdir(parents=True, exist_ok=True)
        content = (json.dumps(payload, indent=1) + "\n").encode()
        target.write_bytes(content)
        checksums[name] = hashlib.sha256(content).hexdigest()
    return {
        "name": "World Bank Indicators API v2, offline snapshot",
        "release_label": RELEASE,
        "base_url": "file://<repository>/plugins/diaspora/sources/worldbank_indicators/sample/api",
        "provenance": {
            "BX.TRF.PWKR.CD.DT": REAL,
            "BM.TRF.PWKR.CD.DT": REAL,
            "NY.GDP.MKTP.CD": REAL,
            "SM.POP.NETM": REAL,
            "SP.POP.TOTL": "real: UN WPP as carried by WDI (Tajikistan 2022, 2023 only)",
            "NY.GDP.PCAP.PP.KD": "real: WDI via gdidata (ppp.csv); library names outside KGZ, TJK, UZB",
            "BX.TRF.PWKR.DT.GD.ZS": "SYNTHETIC: derived as BX.TRF.PWKR.CD.DT / NY.GDP.MKTP.CD x 100",
            "SM.POP.TOTL": "no figures in this snapshot (empty page)",
            "SM.POP.REFG.OR": "no figures in this snapshot (empty page)",
            "country.json": "World Bank codes, names, regions, income groups; WLD, ECS aggregates",
            "lastupdated": f"'{RELEASE}' is this snapshot's label, not a WDI release date",
        },
        "licence": "CC BY 4.0 (World Bank WDI)",
        "sha256": checksums,
    }


if __name__ == "__main__":
    manifest = build()
    (HERE / "SNAPSHOT.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(manifest['sha256'])} payloads under {API.relative_to(HERE.parents[4])}")
