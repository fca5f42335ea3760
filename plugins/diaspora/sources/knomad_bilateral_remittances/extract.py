"""Land the World Bank/KNOMAD bilateral remittance matrix workbook unchanged."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import requests

from diaspora.errors import ParseError, SourceError
from diaspora.http_client import fetch
from diaspora.landing import Landing
from diaspora.settings import Settings

log = logging.getLogger(__name__)

_LABEL = re.compile(r"^KNOMAD (?P<year>\d{4})(?: \((?P<version>.*) version\))?$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


def _file_name(url: str) -> str:
    """The URL's file name, as a plain name (a landed file's name may hold no space or '%')."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(urlsplit(url).path).name).lstrip("._")
    return name or "bilateral_remittance_matrix.xlsx"


def is_xlsx(content: bytes) -> bool:
    """True for an Office Open XML workbook: a zip holding ``xl/workbook.xml``."""
    if not content.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land the workbook; refuse anything that is not an xlsx workbook, naming the URL and the
    setting; return the edition the title names (None when it names none: parse says why)."""
    fetched = fetch(session, settings.knomad_matrix_url, settings)
    if not is_xlsx(fetched.content):
        raise SourceError(
            f"{fetched.url}: expected the World Bank/KNOMAD bilateral remittance matrix as an .xlsx "
            f"workbook, got {fetched.content_type or 'unknown type'} starting {fetched.content[:80]!r}. "
            "The URL (DIASPORA_KNOMAD_MATRIX_URL) may have moved or point at a web page, or the server "
            "may refuse our User-Agent (DIASPORA_HTTP_USER_AGENT)."
        )
    name = _file_name(settings.knomad_matrix_url)
    landing.store(name, fetched.url, fetched.content, fetched.fetched_at)
    return _edition_label(landing.directory / name, settings)


def _edition_label(path: Path, settings: Settings) -> str | None:
    """'KNOMAD 2017 (April 2018 version)' from the title, or None when the workbook is not in a
    readable layout: the landing is kept either way, and the parse step refuses it with the reason."""
    from diaspora.sources.knomad_bilateral_remittances.parse import edition_of

    try:
        return edition_of(path, settings.excel_engine).label
    except ParseError as exc:
        log.warning("%s: no edition read from the title (%s); the parse step will say why", path, exc)
        return None


def release_url(settings: Settings) -> str:
    return settings.knomad_matrix_url


def release_date(label: str | None) -> date | None:
    """The edition's version month ('(April 2018 version)' → 2018-04-01), else the end of the year
    its estimates are for (a version only ever follows that year)."""
    match = _LABEL.match(label or "")
    if match is None:
        return None
    version = match.group("version") or ""
    month_year = _MONTH_YEAR.search(version)
    if month_year:
        return date(int(month_year.group(2)), _MONTHS[month_year.group(1).lower()], 1)
    year = _YEAR.search(version)
    if year:
        return date(int(year.group(1)), 1, 1)
    return date(int(match.group("year")), 12, 31)
