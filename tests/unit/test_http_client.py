"""The shared HTTP client against a real local HTTP server: retries, give-up and timeouts."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from diaspora import pipeline
from diaspora.errors import SourceError
from diaspora.http_client import LimitExceeded, build_session, fetch


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


# --- bounds: what a source (or whoever answers at its address) may make us do ---------------------


def test_a_redirect_to_a_file_url_is_refused_and_the_file_never_read(httpserver, tmp_path, make_settings):
    settings = make_settings(http_max_retries=0)
    secret = tmp_path / "environ"
    secret.write_text("DIASPORA_SECRET=synthetic-secret-value")
    httpserver.expect_request("/data").respond_with_data(
        "", status=302, headers={"Location": f"file://{secret}"}
    )

    with pytest.raises(LimitExceeded) as error:
        fetch(build_session(settings, "worldbank_indicators"), httpserver.url_for("/data"), settings)

    message = str(error.value)
    assert message.startswith("worldbank_indicators: GET ") and "/data redirected to a file:// URL" in message
    assert "synthetic-secret-value" not in message


def test_http_redirects_are_followed_up_to_the_limit(httpserver, make_settings):
    settings = make_settings(http_max_retries=0, http_max_redirects=2)
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("moved here")
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    session = build_session(settings, "unhcr_refugees")

    assert fetch(session, httpserver.url_for("/a"), settings).content == b"moved here"
    with pytest.raises(
        LimitExceeded, match=r"unhcr_refugees: GET .*/loop redirected more than .*\(2\) times"
    ):
        fetch(session, httpserver.url_for("/loop"), settings)


def test_a_huge_retry_after_fails_at_once_instead_of_sleeping(httpserver, make_settings):
    settings = make_settings(http_max_retries=3, http_max_retry_after=30)
    httpserver.expect_request("/busy").respond_with_data(
        "later", status=503, headers={"Retry-After": "86400"}
    )

    started = time.perf_counter()
    with pytest.raises(
        LimitExceeded, match=r"asked us to wait 86,400 s \(Retry-After\), more than .*\(30 s\)"
    ):
        fetch(build_session(settings, "undesa_migrant_stock"), httpserver.url_for("/busy"), settings)
    assert time.perf_counter() - started < 5
    assert requests_to(httpserver, "/busy") == 1


def test_a_short_retry_after_is_still_honoured(httpserver, make_settings):
    settings = make_settings(http_max_retries=2, http_max_retry_after=30)
    httpserver.expect_ordered_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/busy").respond_with_data("ok")

    started = time.perf_counter()
    assert fetch(build_session(settings), httpserver.url_for("/busy"), settings).content == b"ok"
    assert time.perf_counter() - started >= 0.9


def test_a_body_beyond_the_byte_limit_is_refused(httpserver, tmp_path, make_settings):
    settings = make_settings(http_max_retries=0, http_max_bytes=4096)
    httpserver.expect_request("/declared").respond_with_data(b"x" * 5000)

    def unannounced(_request):  # chunked: no Content-Length to go by
        return Response((b"y" * 1024 for _ in range(100)), direct_passthrough=True)

    httpserver.expect_request("/chunked").respond_with_handler(unannounced)
    session = build_session(settings, "worldbank_indicators")

    with pytest.raises(LimitExceeded, match=r"/declared announces 5,000 bytes, more than .*\(4,096\)"):
        fetch(session, httpserver.url_for("/declared"), settings)
    with pytest.raises(LimitExceeded, match=r"/chunked sent more than 4,096 bytes"):
        fetch(session, httpserver.url_for("/chunked"), settings)
    (tmp_path / "big.xlsx").write_bytes(b"z" * 5000)
    with pytest.raises(LimitExceeded, match="announces 5,000 bytes"):
        fetch(session, f"file://{tmp_path}/big.xlsx", settings)


def test_an_api_announcing_endless_pages_fails_after_the_first(httpserver, make_settings):
    """The World Bank API's own page format, with a page count no real indicator has."""
    import json

    settings = make_settings(http_max_retries=0, http_max_pages=50)
    endless = json.dumps([{"page": 1, "pages": 10**9, "per_page": 1, "total": 10**9}, []])
    httpserver.expect_request("/v2/country").respond_with_data(endless, content_type="application/json")
    settings = make_settings(worldbank_base_url=httpserver.url_for("/v2"))

    with pytest.raises(
        LimitExceeded, match=r"worldbank_indicators: .*/v2/country announces 1,000,000,000 pages"
    ):
        pipeline.extract("worldbank_indicators", settings)
    assert requests_to(httpserver, "/v2/country") == 1
