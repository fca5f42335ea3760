"""The one HTTP client of the project: timeouts, retries with exponential backoff, file:// snapshots.

Every extractor fetches through :func:`fetch`, so every source gets the same retry and
error rules, and the same bounds on what a source may make us do: redirects are followed only
to http(s) (a ``file://`` URL is read only when it is the configured one), at most
``DIASPORA_HTTP_MAX_REDIRECTS`` of them; a body is read up to ``DIASPORA_HTTP_MAX_BYTES``; a
``Retry-After`` longer than ``DIASPORA_HTTP_MAX_RETRY_AFTER`` fails instead of sleeping; a paged
API announcing more than ``DIASPORA_HTTP_MAX_PAGES`` pages fails (:func:`check_pages`).
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
WEB_SCHEMES = ("http", "https")


class LimitExceeded(SourceError):
    """A source asked for more than a bound allows (bytes, pages, redirects, wait): not retried."""


class _RetryAfterTooLong(Exception):
    """Raised from inside urllib3's retry loop, before it sleeps; fetch turns it into LimitExceeded."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class BoundedRetry(Retry):
    """urllib3's Retry, refusing to sleep for a Retry-After beyond ``max_retry_after`` seconds."""

    max_retry_after: float = 300.0

    def new(self, **kw) -> BoundedRetry:  # noqa: ANN003 - urllib3's signature
        renewed = super().new(**kw)
        renewed.max_retry_after = self.max_retry_after
        return renewed

    def sleep_for_retry(self, response=None) -> bool:  # noqa: ANN001 - urllib3's signature
        seconds = self.get_retry_after(response) if response is not None else None
        if seconds is not None and seconds > self.max_retry_after:
            raise _RetryAfterTooLong(seconds)
        return super().sleep_for_retry(response)


class SourceSession(requests.Session):
    """A session that names its source in errors and follows redirects only to http(s)."""

    source: str = "a source"

    def get_redirect_target(self, resp):  # noqa: ANN001, ANN201 - requests' signature
        target = super().get_redirect_target(resp)
        scheme = urlsplit(target).scheme.lower() if target else ""
        if target and scheme and scheme not in WEB_SCHEMES:
            raise LimitExceeded(
                f"{self.source}: GET {resp.url} redirected to a {scheme}:// URL ({target[:200]}); only "
                "http(s) redirects are followed. Check the source's URL setting."
            )
        return target


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
            response.headers["Content-Length"] = str(path.stat().st_size)  # checked before a byte is read
            response.raw = open(path, "rb")  # noqa: SIM115 - requests closes it with the response
        else:
            response.status_code = 404
            response.reason = f"no file at {path}"
            response.raw = io.BytesIO(b"")
        return response

    def close(self) -> None:
        pass


def build_session(settings: Settings, source: str = "a source") -> requests.Session:
    """A session that retries timeouts, connection errors, 429 and 5xx with exponential backoff,
    within the bounds of ``settings``; ``source`` names the source in its errors."""
    retry = BoundedRetry(
        total=settings.http_max_retries,
        connect=settings.http_max_retries,
        read=settings.http_max_retries,
        status=settings.http_max_retries,
        redirect=False,  # redirects are requests' to follow (http(s) only), not urllib3's
        backoff_factor=settings.http_backoff_factor,
        backoff_max=120,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        retry_after_max=10**9,  # urllib3 would shorten a longer wait to 6 h and sleep: we refuse it
    )
    retry.max_retry_after = settings.http_max_retry_after
    session = SourceSession()
    session.source = source
    session.max_redirects = settings.http_max_redirects
    session.headers["User-Agent"] = settings.http_user_agent
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.mount(
        "file://", FileAdapter()
    )  # reached only by a configured file:// URL: see get_redirect_target
    return session


def fetch(
    session: requests.Session,
    url: str,
    settings: Settings,
    params: dict[str, object] | None = None,
) -> Fetched:
    """GET ``url`` and return its body; raise :class:`SourceError` naming the source and the URL
    on any failure (:class:`LimitExceeded` when the source broke a bound)."""
    source = getattr(session, "source", "a source")
    shown = f"{url}?{urlencode(params)}" if params else url
    timeout = (settings.http_connect_timeout, settings.http_read_timeout)
    try:
        response = session.get(url, params=params, timeout=timeout, stream=True)
    except _RetryAfterTooLong as exc:
        raise LimitExceeded(
            f"{source}: GET {shown} asked us to wait {exc.seconds:,.0f} s (Retry-After), more than "
            f"DIASPORA_HTTP_MAX_RETRY_AFTER ({settings.http_max_retry_after:,.0f} s). Nothing was "
            "loaded; the next scheduled run tries again."
        ) from None
    except requests.exceptions.TooManyRedirects as exc:
        raise LimitExceeded(
            f"{source}: GET {shown} redirected more than DIASPORA_HTTP_MAX_REDIRECTS "
            f"({settings.http_max_redirects}) times. Check the source's URL setting."
        ) from exc
    except requests.exceptions.RetryError as exc:
        raise SourceError(
            f"{source}: GET {shown} kept failing after {settings.http_max_retries} retries ({exc}). "
            "The source is down or throttling us: try again later or raise DIASPORA_HTTP_MAX_RETRIES."
        ) from exc
    except requests.exceptions.Timeout as exc:
        raise SourceError(
            f"{source}: GET {shown} timed out after {settings.http_max_retries} retries "
            f"(connect {settings.http_connect_timeout}s, read {settings.http_read_timeout}s). "
            "Raise DIASPORA_HTTP_READ_TIMEOUT if the source is just slow."
        ) from exc
    except requests.exceptions.ConnectionError as exc:
        raise SourceError(
            f"{source}: GET {shown} could not connect after {settings.http_max_retries} retries: {exc}. "
            "Check the base URL setting and the network."
        ) from exc
    with response:
        if response.status_code != 200:
            head, _ = _read_up_to(response, 300, source, shown)
            raise SourceError(
                f"{source}: GET {shown} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
                + (
                    f" after {settings.http_max_retries} retries"
                    if response.status_code in RETRY_STATUSES
                    else ""
                )
                + f": {head.decode('utf-8', 'replace')!r}"
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > settings.http_max_bytes:
            raise _too_large(source, shown, f"announces {int(declared):,} bytes", settings)
        content, complete = _read_up_to(response, settings.http_max_bytes, source, shown)
        if not complete:
            raise _too_large(source, shown, f"sent more than {settings.http_max_bytes:,} bytes", settings)
    return Fetched(
        url=shown,
        content=content,
        fetched_at=datetime.now(UTC),
        content_type=response.headers.get("Content-Type", ""),
    )


def _read_up_to(response: requests.Response, limit: int, source: str, shown: str) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether that was all of it; never more is read."""
    body = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=1 << 16):
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), False
    except requests.exceptions.RequestException as exc:
        raise SourceError(f"{source}: GET {shown} broke off while its body was read: {exc}") from exc
    return bytes(body), True


def _too_large(source: str, shown: str, what: str, settings: Settings) -> LimitExceeded:
    return LimitExceeded(
        f"{source}: GET {shown} {what}, more than DIASPORA_HTTP_MAX_BYTES ({settings.http_max_bytes:,}). "
        "Nothing was landed; raise the setting if the source really grew."
    )


def check_pages(pages: int, shown: str, settings: Settings, source: str) -> int:
    """``pages`` as a paged API announced it, or LimitExceeded beyond DIASPORA_HTTP_MAX_PAGES."""
    if pages > settings.http_max_pages:
        raise LimitExceeded(
            f"{source}: {shown} announces {pages:,} pages, more than DIASPORA_HTTP_MAX_PAGES "
            f"({settings.http_max_pages:,}). Nothing was loaded; raise the setting if the source really grew."
        )
    return pages


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
