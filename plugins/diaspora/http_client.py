"""The one HTTP client of the project: timeouts, retries with exponential backoff, file:// snapshots.

Every extractor fetches through :func:`fetch`, so every source gets the same retry and
error rules.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from urllib.request import url2pathname

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.retry import Retry

from diaspora.errors import SourceError
from diaspora.settings import Settings

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Fetched:
    """One response body, exactly as received."""

    url: str
    content: bytes
    fetched_at: datetime
    content_type: str


class FileAdapter(BaseAdapter):
    """Serves ``file://`` URLs so that an offline snapshot replays through the same code path.

    The query string is ignored (a snapshot stores one page per resource). A path with no
    file is looked up again with ``.json`` appended, so ``…/country`` can sit beside the
    ``…/country/`` folder.
    """

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' adapter signature
        path = Path(url2pathname(urlsplit(request.url).path))
        if not path.is_file() and path.with_name(path.name + ".json").is_file():
            path = path.with_name(path.name + ".json")
        response = requests.Response()
        response.url = request.url
        response.request = request
        if path.is_file():
            response.status_code = 200
            response.raw = io.BytesIO(path.read_bytes())
        else:
            response.status_code = 404
            response.reason = f"no file at {path}"
            response.raw = io.BytesIO(b"")
        return response

    def close(self) -> None:
        pass


def build_session(settings: Settings) -> requests.Session:
    """A session that retries timeouts, connection errors, 429 and 5xx with exponential backoff."""
    retry = Retry(
        total=settings.http_max_retries,
        connect=settings.http_max_retries,
        read=settings.http_max_retries,
        status=settings.http_max_retries,
        backoff_factor=settings.http_backoff_factor,
        backoff_max=120,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.headers["User-Agent"] = settings.http_user_agent
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.mount("file://", FileAdapter())
    return session


def fetch(
    session: requests.Session,
    url: str,
    settings: Settings,
    params: dict[str, object] | None = None,
) -> Fetched:
    """GET ``url`` and return its body; raise :class:`SourceError` naming the URL on any failure."""
    shown = f"{url}?{urlencode(params)}" if params else url
    timeout = (settings.http_connect_timeout, settings.http_read_timeout)
    try:
        response = session.get(url, params=params, timeout=timeout)
    except requests.exceptions.RetryError as exc:
        raise SourceError(
            f"GET {shown} kept failing after {settings.http_max_retries} retries ({exc}). "
            "The source is down or throttling us: try again later or raise DIASPORA_HTTP_MAX_RETRIES."
        ) from exc
    except requests.exceptions.Timeout as exc:
        raise SourceError(
            f"GET {shown} timed out after {settings.http_max_retries} retries "
            f"(connect {settings.http_connect_timeout}s, read {settings.http_read_timeout}s). "
            "Raise DIASPORA_HTTP_READ_TIMEOUT if the source is just slow."
        ) from exc
    except requests.exceptions.ConnectionError as exc:
        raise SourceError(
            f"GET {shown} could not connect after {settings.http_max_retries} retries: {exc}. "
            "Check the base URL setting and the network."
        ) from exc
    if response.status_code != 200:
        raise SourceError(
            f"GET {shown} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
            + (
                f" after {settings.http_max_retries} retries"
                if response.status_code in RETRY_STATUSES
                else ""
            )
            + f": {response.text[:300]!r}"
        )
    return Fetched(
        url=shown,
        content=response.content,
        fetched_at=datetime.now(UTC),
        content_type=response.headers.get("Content-Type", ""),
    )


def post_json(session: requests.Session, url: str, payload: dict, settings: Settings) -> None:
    """POST a JSON document (alerts); errors name the host, never the full URL (it may hold a token)."""
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    timeout = (settings.http_connect_timeout, settings.http_read_timeout)
    try:
        response = session.post(url, json=payload, timeout=timeout)
    except requests.exceptions.RequestException as exc:
        raise SourceError(f"POST to {host} failed: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise SourceError(f"POST to {host} answered HTTP {response.status_code}")
