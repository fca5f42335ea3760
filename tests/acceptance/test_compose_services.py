"""The compose stack's own commands, outside Docker (these machines run no Docker engine).

`docker-compose config` renders docker-compose.yml with test secrets; every Airflow service's
command then runs here with that service's environment, host names and container paths mapped to
this machine (PostgreSQL on 127.0.0.1, the local Redis, the repository for /opt/diaspora): the
init job (twice: it must be idempotent), then the API server, scheduler, dag-processor,
triggerer and a Celery worker. Each must pass its own compose health check, and a DAG triggered
through the REST API must run on the Celery worker. So a dependency missing from uv.lock or a
wrong command fails CI. Where a Docker engine answers, the stack itself is started too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import psycopg
import pytest
import sqlalchemy as sa
import yaml

from tests.acceptance.test_compose import SECRETS, compose_command, run_config
from tests.acceptance.test_real_scheduler import _admin_dsn, _database, _drop
from tests.support import ROOT, sample_url
from tests.support.airflow_cluster import BIN, AirflowCluster, free_port

pytestmark = [pytest.mark.scheduler, pytest.mark.postgres]

SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]
REDIS_DB = 7  # a database of its own on the local Redis


def _rendered() -> dict:
    rendered = run_config(SECRETS)
    assert rendered.returncode == 0, rendered.stderr
    return yaml.safe_load(rendered.stdout)["services"]


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def stack(tmp_path, postgres_database):
    compose_command()  # skips (or fails, in CI) without a Compose implementation
    if not _redis_answers():
        pytest.fail("no Redis answers on 127.0.0.1:6379: the Celery broker of the compose stack")
    services = _rendered()
    meta, dw = f"af_compose_{uuid.uuid4().hex[:8]}", f"dw_compose_{uuid.uuid4().hex[:8]}"
    owner = f"diaspora_owner_{uuid.uuid4().hex[:6]}"  # the compose file's `diaspora`, a role of its own here
    local = {
        "meta": _database(meta),
        "dw": _database(dw),  # as this server's superuser: the compose file's `postgres`
        "api": free_port(),
        "scheduler_health": free_port(),
    }
    local["owner"] = (
        sa.make_url(local["dw"])
        .set(username=owner, password=SECRETS["WAREHOUSE_DB_PASSWORD"])
        .render_as_string(hide_password=False)
    )
    home, data = tmp_path / "airflow", tmp_path / "data"
    (data / "surveys" / "inbox").mkdir(parents=True)
    mapping = [  # compose names → this machine, longest first
        (
            f"postgresql+psycopg://airflow:{SECRETS['AIRFLOW_DB_PASSWORD']}@airflow-db:5432/airflow",
            local["meta"],
        ),
        (
            f"postgresql+psycopg://diaspora:{SECRETS['WAREHOUSE_DB_PASSWORD']}@warehouse:5432/diaspora",
            local["owner"],
        ),
        (
            f"postgresql+psycopg://postgres:{SECRETS['WAREHOUSE_ADMIN_PASSWORD']}@warehouse:5432/diaspora",
            local["dw"],
        ),
        ("redis://:@redis:6379/0", f"redis://:@127.0.0.1:6379/{REDIS_DB}"),
        ("http://airflow-apiserver:8080", f"http://127.0.0.1:{local['api']}"),
        ("localhost:8080", f"localhost:{local['api']}"),
        ("localhost:8974", f"localhost:{local['scheduler_health']}"),
        ("/opt/diaspora-data", str(data)),
        ("/opt/diaspora", str(ROOT)),
        ("/opt/airflow", str(home)),
    ]

    def localize(text: str) -> str:
        """What the container would see: "$$" is Compose's escape of "$" (rendered config keeps it)."""
        for compose_value, here in mapping:
            text = text.replace(compose_value, here)
        return text.replace("$$", "$")

    def env_of(name: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DIASPORA_"))}
        return {
            **inherited,
            **{k: localize(str(v)) for k, v in (services[name].get("environment") or {}).items()},
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the image's /opt/venv/bin
            "AIRFLOW_HOME": str(home),  # the image's ENV
            "HOSTNAME": socket.gethostname(),
            # Ports of this machine, instead of each container's own 8080/8974/8793/8794.
            "AIRFLOW__API__PORT": str(local["api"]),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(local["scheduler_health"]),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
            # No internet here: the bundled offline snapshot instead of the live World Bank API.
            "DIASPORA_WORLDBANK_BASE_URL": sample_url("worldbank_indicators"),
        }

    cluster = AirflowCluster(
        home, env_of("airflow-scheduler"), admin=("admin", SECRETS["AIRFLOW_ADMIN_PASSWORD"])
    )
    try:
        yield cluster, services, env_of, localize, local
    finally:
        cluster.stop()
        for name in (meta, dw):
            _drop(name)
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {owner}")
        subprocess.run([str(BIN / "python"), "-c", f"import redis; redis.Redis(db={REDIS_DB}).flushdb()"])


def _healthy(check: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    kind, *args = check
    command = ["bash", "-c", args[0]] if kind == "CMD-SHELL" else args
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_compose_service_command_starts_healthy_and_runs_a_dag_on_celery(stack):
    cluster, services, env_of, localize, local = stack
    init = [localize(part) for part in services["airflow-init"]["command"]]
    for attempt in (1, 2):  # the deploy runs again on every `up`: it must be idempotent
        done = subprocess.run(
            init, env=env_of("airflow-init"), cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (
            f"airflow-init (run {attempt}) failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    assert "Airflow pool diaspora_warehouse: 8 slot(s)" in done.stdout
    _assert_the_pipeline_is_no_superuser(local["owner"])

    for name in SERVICES:
        command = [localize(part) for part in services[name]["command"]]
        cluster.start_command(name, command, env_of(name))
    pending, last, deadline = set(SERVICES), {}, time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        cluster.assert_running()
        for name in sorted(pending):
            check = [localize(part) for part in services[name]["healthcheck"]["test"]]
            last[name] = _healthy(check, env_of(name))
            if last[name].returncode == 0:
                pending.discard(name)
        time.sleep(3)
    assert not pending, f"not healthy after 300 s: {sorted(pending)}\n" + "\n".join(
        f"--- {name} health check: {last[name].stdout[-1000:]} {last[name].stderr[-1000:]}"
        for name in pending
    )

    cluster.wait_until_up({"worldbank_indicators"})
    cluster.unpause("worldbank_indicators")
    run_id = cluster.trigger("worldbank_indicators")
    runs = cluster.wait_for_runs(["worldbank_indicators"], timeout=600)
    problems = cluster.failures(runs)
    assert not problems, "\n\n".join(problems)
    manual = next(r for r in runs["worldbank_indicators"] if r["dag_run_id"] == run_id)
    assert manual["state"] == "success"
    worker_log = cluster.process_log("airflow-worker", tail=200_000)
    assert "worldbank_indicators" in worker_log  # the tasks ran on the Celery worker
    with psycopg.connect(_dsn(local["dw"])) as conn:  # loaded by the owner role, NOSUPERUSER
        loaded = conn.execute(
            "SELECT count(*), min(r.rolname) FROM dw.fact_indicator_value f "
            "JOIN pg_class c ON c.relname = 'fact_indicator_value' JOIN pg_roles r ON r.oid = c.relowner"
        ).fetchone()
    assert loaded[0] > 0 and loaded[1] == sa.make_url(local["owner"]).username


def _dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _assert_the_pipeline_is_no_superuser(owner_url: str) -> None:
    """The role of the Airflow services' DIASPORA_WAREHOUSE_URL, as the deploy left it."""
    with psycopg.connect(_dsn(owner_url), autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        assert conn.execute("SELECT count(*) FROM etl.schema_migration").fetchone()[0] > 0


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on PATH")
def test_the_stack_starts_under_docker(tmp_path):
    """Where a Docker engine answers: build, start, wait for every service to be healthy, stop."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        if os.environ.get("DIASPORA_REQUIRE_DOCKER") == "1":
            pytest.fail("DIASPORA_REQUIRE_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine answers (docker info failed)")
    env = {**os.environ, **SECRETS, "COMPOSE_PROJECT_NAME": f"diaspora-test-{uuid.uuid4().hex[:6]}"}
    up = ["docker", "compose", "-f", str(ROOT / "docker-compose.yml")]
    try:
        started = subprocess.run([*up, "up", "-d", "--build", "--wait"], env=env, cwd=ROOT, timeout=1800)
        assert started.returncode == 0
    finally:
        subprocess.run([*up, "down", "-v"], env=env, cwd=ROOT, timeout=600)
