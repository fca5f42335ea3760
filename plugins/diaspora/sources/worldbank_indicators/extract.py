"""Land the World Bank Indicators API v2 pages: country metadata and every configured indicator.

Extract follows pagination to the last page and checks the rows received against the API's
``total``; an HTTP 200 whose body is an API error message is a failure that shows the message."""

from __future__ import annotations

import json
from datetime import date

import requests

from diaspora.errors import SourceError
from diaspora.http_client import check_pages, fetch
from diaspora.landing import Landing
from diaspora.settings import Settings
from diaspora.sources.worldbank_indicators.settings import config_for

AGGREGATE_REGION_ID = "NA"  # region.id of World, regions and income groups in /country


def decode_page(content: bytes, where: str) -> tuple[dict, list[dict]]:
    """Split one API page into (meta, rows); an error body raises with the API's own message."""
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise SourceError(f"{where}: the body is not JSON ({content[:200]!r})") from exc
    if isinstance(body, list) and body and isinstance(body[0], dict) and "message" in body[0]:
        messages = "; ".join(
            f"{m.get('id', '?')} {m.get('key', '')}: {m.get('value', '')}".strip() for m in body[0]["message"]
        )
        raise SourceError(f"{where}: the World Bank API answered with an error: {messages}")
    if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], dict)):
        raise SourceError(
            f"{where}: expected a JSON array [meta, rows] from the World Bank API, "
            f"got {type(body).__name__} starting {content[:120]!r}"
        )
    meta, rows = body
    for field in ("page", "pages", "total"):
        if field not in meta:
            raise SourceError(f"{where}: page metadata lacks '{field}': {meta}")
    return meta, rows or []


def _fetch_all_pages(
    session: requests.Session,
    settings: Settings,
    landing: Landing,
    url: str,
    params: dict[str, object],
    name: str,
) -> dict:
    """Fetch ``url`` page by page until ``page == pages``, landing each page; return page-1 meta."""
    page, pages, received, first_meta = 1, 1, 0, None
    while page <= pages:
        fetched = fetch(session, url, settings, {**params, "page": page})
        meta, rows = decode_page(fetched.content, fetched.url)
        if int(meta["page"]) != page and int(meta["pages"]) > 0:
            raise SourceError(f"{fetched.url}: asked for page {page}, the API sent page {meta['page']}")
        landing.store(
            f"{name}/page-{page:04d}.json",
            fetched.url,
            fetched.content,
            fetched.fetched_at,
            lastupdated=meta.get("lastupdated"),
            total=int(meta["total"]),
        )
        first_meta = first_meta or meta
        pages = check_pages(int(meta["pages"]), url, settings, "worldbank_indicators")
        received += len(rows)
        page += 1
    expected = int(first_meta["total"])
    if received != expected:
        raise SourceError(
            f"{url}: received {received} rows but the API announced total={expected} "
            f"over {pages} page(s): a page is missing or short. Nothing was loaded; retry the run."
        )
    return first_meta


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land country metadata and every configured indicator; return the release (``lastupdated``)."""
    config = config_for(settings)
    base = settings.worldbank_base_url.rstrip("/")
    common = {"format": "json", "per_page": settings.worldbank_per_page}
    _fetch_all_pages(session, settings, landing, f"{base}/country", common, "country")
    releases = set()
    for indicator in config.indicators:
        meta = _fetch_all_pages(
            session,
            settings,
            landing,
            f"{base}/country/all/indicator/{indicator.code}",
            {**common, "date": f"{config.start_year}:{config.end_year}"},
            f"indicator/{indicator.code}",
        )
        if meta.get("lastupdated"):
            releases.add(str(meta["lastupdated"]))
    # WDI is released as a whole; if indicators disagree, the newest date names the release.
    return max(releases) if releases else None


def release_url(settings: Settings) -> str:
    return settings.worldbank_base_url.rstrip("/") + "/country/all/indicator"


def release_date(label: str | None) -> date | None:
    try:
        return date.fromisoformat(label) if label else None
    except ValueError:
        return None
