"""UNHCR Refugee Population Statistics: people by origin, country of asylum, year and population type.

Extract pages through ``{base}/population/`` to ``maxPages`` with the project's one HTTP client
(same retries and error rules as every source); a body that is not the API's ``{"page", "maxPages",
"items"}`` shape, or a page shorter than the limit before the last, fails the extract. Parse turns
each item into one row per population type; counts may come as integers or strings; ``"-"`` as a
code marks a dimension that was not broken down and becomes ``UNHCR:ALL``, never a country.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import requests

from diaspora.countries import known_country_codes
from diaspora.errors import ParseError, SourceError
from diaspora.http_client import fetch
from diaspora.landing import Landing, Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset, SourceInfo

POPULATION_TYPES = (
    "refugees",
    "asylum_seekers",
    "returned_refugees",
    "idps",
    "returned_idps",
    "stateless",
    "ooc",
    "oip",
    "hst",
)
NOT_BROKEN_DOWN = "UNHCR:ALL"
# UNHCR's own codes that are not countries, decided explicitly (others fail validation by name).
SPECIAL_CODES = {"-": NOT_BROKEN_DOWN, "UKN": "UNHCR:UKN"}
SPECIAL_AREAS = [
    {
        "country_code": NOT_BROKEN_DOWN,
        "area_type": "aggregate",
        "name": "All (not broken down)",
        "is_aggregate": True,
    },
    {"country_code": "UNHCR:UKN", "area_type": "residual", "name": "Unknown (UNHCR)", "is_aggregate": False},
]

INFO = SourceInfo(
    key="unhcr_refugees",
    publisher="UNHCR, the UN Refugee Agency",
    dataset="Refugee Population Statistics",
    licence="CC BY 4.0",
    citation="UNHCR Refugee Population Statistics Database (www.unhcr.org/refugee-statistics), CC BY 4.0.",
    fact_table="dw.fact_refugee_population",
    value_column="persons",
    suite="unhcr_refugees",
    dimension_tables=("dw.dim_country",),
)


def _decode(content: bytes, where: str) -> dict:
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise SourceError(f"{where}: the body is not JSON ({content[:200]!r})") from exc
    if not isinstance(body, dict) or not {"page", "maxPages", "items"} <= set(body):
        raise SourceError(
            f"{where}: expected the UNHCR API's {{page, maxPages, items}}, got {str(body)[:200]}"
        )
    return body


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land every page; return a release label naming the latest year in the data."""
    year_to = datetime.now(UTC).year
    url = settings.unhcr_base_url.rstrip("/") + "/population/"
    params = {
        "yearFrom": settings.unhcr_year_from,
        "yearTo": year_to,
        "coo_all": "true",
        "coa_all": "true",
        "cf_type": "ISO",
        "limit": settings.unhcr_page_limit,
    }
    page, pages, latest = 1, 1, None
    while page <= pages:
        fetched = fetch(session, url, settings, {**params, "page": page})
        body = _decode(fetched.content, fetched.url)
        pages = int(body["maxPages"])
        items = body["items"] or []
        if page < pages and len(items) < settings.unhcr_page_limit:
            raise SourceError(
                f"{fetched.url}: page {page} of {pages} holds {len(items)} items, fewer than the "
                f"limit {settings.unhcr_page_limit}: a short page. Nothing was loaded; retry the run."
            )
        landing.store(
            f"population/page-{page:04d}.json",
            fetched.url,
            fetched.content,
            fetched.fetched_at,
            max_pages=pages,
        )
        years = [int(i["year"]) for i in items if str(i.get("year", "")).isdigit()]
        latest = max([latest or 0, *years]) or latest
        page += 1
    return f"UNHCR population {latest}" if latest else None


def release_url(settings: Settings) -> str:
    return settings.unhcr_base_url.rstrip("/") + "/population/"


def release_date(label: str | None) -> date | None:
    """End of the latest year the release covers (UNHCR publishes end-year figures)."""
    try:
        return date(int((label or "").rsplit(" ", 1)[-1]), 12, 31)
    except ValueError:
        return None


def _code(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return SPECIAL_CODES.get(text, text or None)


def _count(value: object, where: str, field: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "-")):
        return None
    try:
        return float(str(value).replace(",", ""))
    except ValueError as exc:
        raise ParseError(f"{where}: field '{field}' is not a count: {value!r}") from exc


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    records = []
    for landed in sorted(manifest.files, key=lambda f: f.name):
        where = str(manifest.path_of(landed.name))
        for item in _decode(manifest.path_of(landed.name).read_bytes(), where)["items"] or []:
            for field in ("year", "coo_iso", "coa_iso"):
                if field not in item:
                    raise ParseError(f"{where}: an item lacks field '{field}': {str(item)[:200]}")
            for population_type in POPULATION_TYPES:
                if population_type in item:
                    records.append(
                        {
                            "origin_code": _code(item["coo_iso"]),
                            "asylum_code": _code(item["coa_iso"]),
                            "year": int(item["year"]),
                            "population_type": population_type,
                            "persons": _count(item[population_type], where, population_type),
                        }
                    )
    columns = ["origin_code", "asylum_code", "year", "population_type", "persons"]
    fact = pd.DataFrame.from_records(records, columns=columns).astype({"year": "int64", "persons": "float64"})
    return ParsedDataset(
        frames={"dw.dim_country": pd.DataFrame(SPECIAL_AREAS), "dw.fact_refugee_population": fact}
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    known = sorted(known_country_codes() | {area["country_code"] for area in SPECIAL_AREAS})
    return {"known_codes": known, "population_types": list(POPULATION_TYPES)}
