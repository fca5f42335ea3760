"""Land the UN DESA International Migrant Stock workbook unchanged."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import requests

from diaspora.errors import ParseError, SourceError
from diaspora.http_client import fetch
from diaspora.landing import Landing
from diaspora.settings import Settings

log = logging.getLogger(__name__)


def _file_name(url: str) -> str:
    """The URL's file name, as a plain name (a landed file's name may hold no space or '%')."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(urlsplit(url).path).name).lstrip("._") or "migrant_stock.xlsx"


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land the workbook; refuse anything that is not an xlsx (a zip) with the reason."""
    fetched = fetch(session, settings.undesa_ims_url, settings)
    if not fetched.content.startswith(b"PK"):
        raise SourceError(
            f"{fetched.url}: expected an .xlsx workbook, got {fetched.content_type or 'unknown type'} "
            f"starting {fetched.content[:80]!r}. The server may refuse our User-Agent "
            "(DIASPORA_HTTP_USER_AGENT) or the URL (DIASPORA_UNDESA_IMS_URL) may have moved."
        )
    name = _file_name(settings.undesa_ims_url)
    landing.store(name, fetched.url, fetched.content, fetched.fetched_at)
    return _edition_label(landing.directory / name, settings)


def _edition_label(path: Path, settings: Settings) -> str | None:
    """The edition the title rows name ('IMS 2024'), or None when they name none: the landing is
    kept either way, and the parse step refuses the workbook with the reason."""
    from diaspora.sources.undesa_migrant_stock.parse import edition_of

    try:
        return edition_of(path, settings.excel_engine).label
    except ParseError as exc:
        log.warning("%s: no edition read from the title rows (%s); the parse step will say why", path, exc)
        return None


def release_url(settings: Settings) -> str:
    return settings.undesa_ims_url


def release_date(label: str | None) -> date | None:
    match = re.search(r"(19|20)\d{2}", label or "")
    return date(int(match.group(0)), 1, 1) if match else None
