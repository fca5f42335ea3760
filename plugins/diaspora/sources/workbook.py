"""Published workbooks (UN DESA's Table 1, the World Bank/KNOMAD matrices): the one way a source
lands one unchanged, names it, reads its edition at extract time and reads a sheet at parse time."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pandas as pd

from diaspora.errors import ParseError, SourceError

if TYPE_CHECKING:  # the parse step reads sheets offline: no HTTP client imported for it
    import requests

    from diaspora.landing import Landing
    from diaspora.settings import Settings

log = logging.getLogger(__name__)


def is_xlsx(content: bytes) -> bool:
    """True for an Office Open XML workbook: a zip holding ``xl/workbook.xml``."""
    if not content.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def file_name(url: str, default: str) -> str:
    """The URL's file name, as a plain name (a landed file's name may hold no space or '%')."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(urlsplit(url).path).name).lstrip("._") or default


def land_workbook(
    settings: Settings,
    session: requests.Session,
    landing: Landing,
    url: str,
    what: str,
    setting: str,
    default: str,
) -> Path:
    """Fetch the workbook at ``url`` and land it unchanged; anything that is not an xlsx workbook is
    refused naming the URL, what was expected and the setting (``DIASPORA_…``) that points there."""
    from diaspora.http_client import fetch

    fetched = fetch(session, url, settings)
    if not is_xlsx(fetched.content):
        raise SourceError(
            f"{fetched.url}: expected {what} as an .xlsx workbook, got "
            f"{fetched.content_type or 'unknown type'} starting {fetched.content[:80]!r}. The URL "
            f"({setting}) may have moved or point at a web page, or the server may refuse our "
            "User-Agent (DIASPORA_HTTP_USER_AGENT)."
        )
    name = file_name(url, default)
    landing.store(name, fetched.url, fetched.content, fetched.fetched_at)
    return landing.directory / name


def edition_label(path: Path, settings: Settings, edition_of: Callable) -> str | None:
    """The release label ``edition_of(path, engine).label`` reads from the title, or None when it
    reads none: the landing is kept either way, and the parse step refuses it with the reason."""
    try:
        return edition_of(path, settings.excel_engine).label
    except ParseError as exc:
        log.warning("%s: no edition read from the title (%s); the parse step will say why", path, exc)
        return None


def read_sheet(path: Path, engine: str, sheet: str | int | None, rows: int | None = None) -> pd.DataFrame:
    """A sheet (``None``: every sheet) as published: no header, every cell as the workbook has it;
    keep_default_na=False: only the workbook's own markers ('..', '-') mean missing, not 'NA' etc."""
    try:
        return pd.read_excel(
            path,
            sheet_name=sheet,
            header=None,
            engine=engine,
            dtype=object,
            keep_default_na=False,
            nrows=rows,
        )
    except ValueError as exc:
        raise ParseError(
            f"{path}: cannot read {'the workbook' if sheet is None else f'sheet {sheet!r}'}: {exc}"
        ) from exc
