"""Land every page of UNHCR's population API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import requests

from diaspora.errors import SourceError
from diaspora.http_client import check_pages, fetch
from diaspora.landing import Landing
from diaspora.settings import Settings

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


def decode_page(content: bytes, where: str) -> dict:
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
        body = decode_page(fetched.content, fetched.url)
        pages = check_pages(int(body["maxPages"]), url, settings, "unhcr_refugees")
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
