"""Shared fixtures: isolated settings, a real DuckDB file, a throwaway PostgreSQL database,
and a project-local Airflow metadata DB for the few end-to-end DAG runs; and --without-airflow,
which make test-fast passes so that an import of Airflow fails the test that makes it."""

from __future__ import annotations

import importlib.abc
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import hypothesis  # noqa: F401 - imported now, see below
import pytest

from tests.support import ROOT

# CPython 3.11.7 can fail to parse a module late in a session that ran PostgreSQL tests
# ("SystemError: AST constructor recursion depth mismatch"); hypothesis's pytest plugin imports
# hypothesis in its terminal summary and hit it on partial runs, failing a green session. Importing
# it up front keeps that parse out of the session's end.

# Airflow reads AIRFLOW_HOME when first imported: set it before any test module imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="diaspora-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def pytest_addoption(parser):
    parser.addoption(
        "--without-airflow",
        action="store_true",
        help="make any import of Airflow fail (make test-fast: unit and contract tests need none)",
    )


class _NoAirflow(importlib.abc.MetaPathFinder):
    """Refuses ``airflow`` and its submodules, naming the way out."""

    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError(
                f"import of {name} under --without-airflow (make test-fast): mark the test "
                "@pytest.mark.airflow, or move it out of tests/unit and tests/contract"
            )
        return None


def pytest_configure(config):
    if config.getoption("--without-airflow"):
        sys.meta_path.insert(0, _NoAirflow())


DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
INDICATORS = [
    "BX.TRF.PWKR.CD.DT",
    "BX.TRF.PWKR.DT.GD.ZS",
    "BM.TRF.PWKR.CD.DT",
    "NY.GDP.MKTP.CD",
    "NY.GDP.PCAP.PP.KD",
    "SP.POP.TOTL",
    "SM.POP.TOTL",
    "SM.POP.NETM",
    "SM.POP.REFG.OR",
]


@pytest.fixture
def make_settings(tmp_path, monkeypatch):
    """Build Settings from DIASPORA_* env for this test (data under tmp_path)."""
    from diaspora.settings import Settings, get_settings

    for key in list(os.environ):
        if key.startswith("DIASPORA_") and key not in (
            "DIASPORA_TEST_POSTGRES_URL",
            "DIASPORA_REQUIRE_POSTGRES",
        ):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DIASPORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIASPORA_HTTP_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("DIASPORA_HTTP_READ_TIMEOUT", "5")

    def build(**overrides) -> Settings:
        for key, value in overrides.items():
            monkeypatch.setenv(f"DIASPORA_{key.upper()}", str(value))
        get_settings.cache_clear()
        return get_settings()

    yield build
    get_settings.cache_clear()


def _postgres_admin_url() -> str:
    return os.environ.get("DIASPORA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway database on the test server, dropped after the session."""
    import psycopg
    import sqlalchemy as sa

    admin = sa.make_url(_postgres_admin_url())
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("DIASPORA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (DIASPORA_REQUIRE_POSTGRES=1) but {admin!r}: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {admin.render_as_string()}: {exc}")
    name = f"diaspora_test_{uuid.uuid4().hex[:10]}"
    connection.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    from diaspora.warehouse.engine import get_engine

    get_engine(admin.set(database=name).render_as_string(hide_password=False)).dispose()
    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for schema in ("reporting", "staging", "dw", "etl"):
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path):
    """A fresh, empty warehouse on each engine."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def postgres_url(postgres_database):
    _reset_postgres(postgres_database)
    return postgres_database


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow metadata DB (SQLite) in the session's AIRFLOW_HOME, migrated once."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return _AIRFLOW_HOME


@pytest.fixture
def fake_worldbank(httpserver):
    """A World Bank API look-alike with SYNTHETIC values for all configured indicators."""
    from tests.support.worldbank_api import FakeWorldBank, synthetic_values

    api = FakeWorldBank(values=synthetic_values(INDICATORS, range(2015, 2024)))
    return api


@dataclass
class AlertWebhook:
    """A real local HTTP server that keeps every JSON document POSTed to it."""

    url: str
    received: list[dict] = field(default_factory=list)

    @property
    def problems(self) -> list[dict]:
        """Alerts about something that needs a look: every one but the success notifications."""
        return [a for a in self.received if a["kind"] != "release_loaded"]

    @property
    def notifications(self) -> list[dict]:
        """The success notifications (one per loaded release), with what each release changed."""
        return [a for a in self.received if a["kind"] == "release_loaded"]


@pytest.fixture
def alert_webhook():
    """A generic alert webhook receiver on its own port (independent of ``httpserver``)."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield AlertWebhook(f"http://127.0.0.1:{server.server_port}/alerts", received)
    server.shutdown()
    server.server_close()
