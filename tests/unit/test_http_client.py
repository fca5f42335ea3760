"""The shared HTTP client against a real local HTTP server: retries, give-up and timeouts."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from diaspora.errors import SourceError
from diaspora.http_client import build_session, fetch


def requests_to(httpserver, path: str) -> int:
    """Requests logged for ``path`` (a hung handler of another test may log late)."""
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_429_then_200_is_retried(httpserver, make_settings):
    settings = make_settings(http_max_retries=3)
    httpserver.expect_ordered_request("/data").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/data").respond_with_data("payload", status=200)

    fetched = fetch(build_session(settings), httpserver.url_for("/data"), settings)

    assert fetched.content == b"payload"
    assert requests_to(httpserver, "/data") == 2


def test_500_forever_fails_after_the_retry_budget(httpserver, make_settings):
    settings = make_settings(http_max_retries=2)
    httpserver.expect_request("/data").respond_with_data("boom", status=500)

    with pytest.raises(SourceError) as error:
        fetch(build_session(settings), httpserver.url_for("/data"), settings, {"page": 1})

    assert requests_to(httpserver, "/data") == 3  # first try + 2 retries
    message = str(error.value)
    assert "/data?page=1" in message and "HTTP 500" in message and "2 retries" in message


def test_hung_response_times_out(httpserver, make_settings):
    settings = make_settings(http_max_retries=1, http_read_timeout=0.3)

    def hang(_request):
        time.sleep(1.5)
        return Response("too late")

    httpserver.expect_request("/slow").respond_with_handler(hang)
    started = time.perf_counter()
    with pytest.raises(SourceError, match="timed out"):
        fetch(build_session(settings), httpserver.url_for("/slow"), settings)
    assert time.perf_counter() - started < 5


def test_404_is_not_retried_and_names_the_url(httpserver, make_settings):
    settings = make_settings(http_max_retries=3)
    httpserver.expect_request("/missing").respond_with_data("no such thing", status=404)

    with pytest.raises(SourceError, match=r"/missing answered HTTP 404"):
        fetch(build_session(settings), httpserver.url_for("/missing"), settings)
    assert requests_to(httpserver, "/missing") == 1


def test_user_agent_is_descriptive(httpserver, make_settings):
    settings = make_settings(http_user_agent="diaspora-test/1.0 (ops@example.org)")
    httpserver.expect_request(
        "/ua", headers={"User-Agent": "diaspora-test/1.0 (ops@example.org)"}
    ).respond_with_data("ok")

    assert fetch(build_session(settings), httpserver.url_for("/ua"), settings).content == b"ok"


def test_file_urls_serve_snapshots(tmp_path, make_settings):
    settings = make_settings()
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "country.json").write_bytes(b'[{"page": 1}, []]')
    session = build_session(settings)

    fetched = fetch(session, f"file://{tmp_path}/api/country", settings, {"page": 1})
    assert fetched.content == b'[{"page": 1}, []]'
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch(session, f"file://{tmp_path}/api/nothing", settings)
