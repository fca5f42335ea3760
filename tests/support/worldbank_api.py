"""A World Bank Indicators API v2 look-alike for tests, served by a real local HTTP server.

The payloads follow the real format ([meta, rows], ISO2 ``country.id``, ``countryiso3code``,
string ``date``). Their figures are SYNTHETIC test data, not World Bank statistics.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from werkzeug import Request, Response

LASTUPDATED = "2025-07-01"
ECS = {"id": "ECS", "iso2code": "Z7", "value": "Europe & Central Asia"}
AGG = {"id": "NA", "iso2code": "NA", "value": "Aggregates"}
LMC = {"id": "LMC", "iso2code": "XN", "value": "Lower middle income"}
UMC = {"id": "UMC", "iso2code": "XT", "value": "Upper middle income"}

COUNTRIES = [
    {"id": "TJK", "iso2Code": "TJ", "name": "Tajikistan", "region": ECS, "incomeLevel": LMC},
    {"id": "KGZ", "iso2Code": "KG", "name": "Kyrgyz Republic", "region": ECS, "incomeLevel": LMC},
    {
        "id": "RUS",
        "iso2Code": "RU",
        "name": "Russian Federation",
        "region": ECS,
        "incomeLevel": UMC,
    },
    {"id": "WLD", "iso2Code": "1W", "name": "World", "region": AGG, "incomeLevel": AGG},
    {
        "id": "ECS",
        "iso2Code": "Z7",
        "name": "Europe & Central Asia",
        "region": AGG,
        "incomeLevel": AGG,
    },
]
NAMES = {c["id"]: c["name"] for c in COUNTRIES}
ISO2 = {c["id"]: c["iso2Code"] for c in COUNTRIES}


def value_row(code: str, iso3: str, year: int, value, *, blank_iso3: bool = False) -> dict:
    """One indicator row as the API sends it; ``blank_iso3`` mimics aggregates with no ISO3."""
    return {
        "indicator": {"id": code, "value": f"name of {code}"},
        "country": {"id": ISO2[iso3], "value": NAMES[iso3]},
        "countryiso3code": "" if blank_iso3 else iso3,
        "date": str(year),
        "value": value,
        "unit": "",
        "obs_status": "",
        "decimal": 0,
    }


def synthetic_values(indicators: list[str], years: range) -> dict[str, list[dict]]:
    """SYNTHETIC rows: every country × year, with nulls, negatives and aggregates."""
    rows: dict[str, list[dict]] = {code: [] for code in indicators}
    for code in indicators:
        for iso3 in NAMES:
            for year in years:
                if code.endswith(".ZS"):
                    value = 10.0 + (year % 7)
                elif code == "SM.POP.NETM":
                    value = -1000 * (year % 5) + 250  # negative values are valid
                else:
                    value = 1_000_000 * (year - 1980) + len(iso3)
                if iso3 == "KGZ" and year == years[-1]:
                    value = None  # not available stays NULL
                rows[code].append(value_row(code, iso3, year, value, blank_iso3=iso3 == "ECS"))
    return rows


@dataclass
class FakeWorldBank:
    """Registers handlers on a pytest-httpserver that paginate like the real API."""

    countries: list[dict] = field(default_factory=lambda: list(COUNTRIES))
    values: dict[str, list[dict]] = field(default_factory=dict)
    lastupdated: str = LASTUPDATED
    drop_page: int | None = None  # serve this page with no rows (a short page)
    requests: list[str] = field(default_factory=list)

    def page(self, rows: list[dict], request: Request) -> Response:
        self.requests.append(request.full_path)
        per_page = int(request.args.get("per_page", 50))
        page = int(request.args.get("page", 1))
        pages = math.ceil(len(rows) / per_page)
        chunk = rows[(page - 1) * per_page : page * per_page]
        if self.drop_page == page:
            chunk = []
        meta = {
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "total": len(rows),
            "sourceid": "2",
            "lastupdated": self.lastupdated,
        }
        body = [meta, chunk or None]
        return Response(json.dumps(body), content_type="application/json;charset=utf-8")

    def install(self, httpserver, prefix: str = "/v2") -> str:  # noqa: ANN001 - pytest_httpserver.HTTPServer
        httpserver.expect_request(f"{prefix}/country").respond_with_handler(
            lambda request: self.page(self.countries, request)
        )
        for code, rows in self.values.items():
            httpserver.expect_request(f"{prefix}/country/all/indicator/{code}").respond_with_handler(
                lambda request, rows=rows: self.page(rows, request)
            )
        # Any other indicator exists but has no data: the API then sends total 0 and null rows.
        httpserver.expect_request(
            re.compile(rf"^{prefix}/country/all/indicator/[^/]+$")
        ).respond_with_handler(lambda request: self.page([], request))
        return httpserver.url_for(prefix)
