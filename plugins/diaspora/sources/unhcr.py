"""UNHCR Refugee Population Statistics: people by origin, country of asylum, year and population type.

Extract pages through ``{base}/population/`` to ``maxPages`` with the project's one HTTP client
(same retries and error rules as every source); a body that is not the API's ``{"page", "maxPages",
"items"}`` shape, or a page shorter than the limit before the last, fails the extract. Parse turns
each item into one row per population type it reports; counts may come as integers or strings; ``"-"``
as a code marks a dimension that was not broken down and becomes ``UNHCR:ALL``, never a country.
UNHCR's codes for what is not a country (``UNK`` unknown, ``XXA`` stateless, ``TIB`` Tibetan) are
reference members with their kind; a code never seen before loads as ``unmapped`` and warns.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import requests

from diaspora.countries import reference_area_codes, unmapped_areas
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
NOT_BROKEN_DOWN = "UNHCR:ALL"  # the API's "-": this dimension was not broken down
CODE_FIELDS = {"coo_iso": "coo_name", "coa_iso": "coa_name"}  # code field → its name field

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
    validation_only_columns=(),
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


def _items(manifest: Manifest) -> pd.DataFrame:
    """Every item of every landed page, with the page it came from (for error messages)."""
    frames = []
    for landed in sorted(manifest.files, key=lambda f: f.name):
        where = str(manifest.path_of(landed.name))
        items = _decode(manifest.path_of(landed.name).read_bytes(), where)["items"] or []
        for field in ("year", "coo_iso", "coa_iso"):
            missing = next((item for item in items if field not in item), None)
            if missing is not None:
                raise ParseError(f"{where}: an item lacks field '{field}': {str(missing)[:200]}")
        page = pd.DataFrame.from_records(items)
        # A population type absent from an item is not reported (no row); present but null is NULL.
        for population_type in POPULATION_TYPES:
            page[f"has_{population_type}"] = [population_type in item for item in items]
        frames.append(page.assign(page=where))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["year", "page"])


def _codes(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip()
    return text.mask(text == "-", NOT_BROKEN_DOWN).mask(text == "", None).astype(object)


def _counts(column: pd.Series, pages: pd.Series, field: str) -> pd.Series:
    """Counts as floats: numbers, numeric text ("1,234"), "-" or empty → NULL; else an error."""
    text = column.astype("string").str.strip().str.replace(",", "", regex=False)
    missing = column.isna() | text.isin(["", "-"])
    values = pd.to_numeric(text.mask(missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        first = bad.idxmax()
        raise ParseError(f"{pages[first]}: field '{field}' is not a count: {column[first]!r}")
    return values.astype("float64")


def _years(column: pd.Series, pages: pd.Series) -> pd.Series:
    years = pd.to_numeric(column, errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    if bad.any():
        first = bad.idxmax()
        raise ParseError(f"{pages[first]}: field 'year' is not a year: {column[first]!r}")
    return years.astype("int64")


def _area_names(items: pd.DataFrame, codes: dict[str, pd.Series]) -> dict[str, str]:
    """Code → the name UNHCR gives it (``coo_name``/``coa_name``), for codes it names."""
    names: dict[str, str] = {}
    for field, code in codes.items():
        name_field = CODE_FIELDS[field]
        if name_field in items:
            pairs = pd.DataFrame({"code": code, "name": items[name_field]}).dropna().drop_duplicates("code")
            names.update(zip(pairs["code"], pairs["name"].astype(str), strict=True))
        else:
            names.update((c, c) for c in code.dropna().unique())
    return names


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    """One fact row per item × reported population type; codes outside the reference load as
    ``unmapped`` areas (the suite warns) so that totals equal UNHCR's."""
    items = _items(manifest)
    codes = {field: _codes(items[field]) for field in CODE_FIELDS} if len(items) else {}
    parts = []
    for population_type in POPULATION_TYPES:
        if population_type not in items:
            continue
        reported = items[f"has_{population_type}"].to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "origin_code": codes["coo_iso"][reported],
                    "asylum_code": codes["coa_iso"][reported],
                    "year": _years(items["year"][reported], items["page"]),
                    "population_type": population_type,
                    "persons": _counts(items[population_type][reported], items["page"], population_type),
                }
            )
        )
    columns = ["origin_code", "asylum_code", "year", "population_type", "persons"]
    fact = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)).astype(
        {"year": "int64", "persons": "float64"}
    )
    areas = (
        unmapped_areas(_area_names(items, codes), reference_area_codes())
        if codes
        else unmapped_areas({}, set())
    )
    return ParsedDataset(frames={"dw.dim_country": areas, "dw.fact_refugee_population": fact})


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    return {"known_codes": sorted(reference_area_codes()), "population_types": list(POPULATION_TYPES)}
