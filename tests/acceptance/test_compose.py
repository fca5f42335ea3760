"""docker-compose.yml is valid for a real Compose implementation and keeps the production shape."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.support import ROOT

SECRETS = {
    "AIRFLOW_JWT_SECRET": "test-jwt-secret",
    "AIRFLOW_FERNET_KEY": "test-fernet-key",
    "AIRFLOW_DB_PASSWORD": "test-airflow-db",
    "WAREHOUSE_DB_PASSWORD": "test-warehouse-db",
    "DIASPORA_BI_PASSWORD": "test-bi",
    "METABASE_ADMIN_PASSWORD": "test-metabase",
    "DIASPORA_SURVEY_SALT": "test-salt",
    "AIRFLOW_ADMIN_PASSWORD": "test-admin-password",
}
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if os.environ.get("DIASPORA_REQUIRE_COMPOSE") == "1":
        pytest.fail(
            "DIASPORA_REQUIRE_COMPOSE=1 but no docker-compose on PATH (apt-get install docker-compose)"
        )
    pytest.skip("no Compose implementation on PATH (apt-get install docker-compose)")


def run_config(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=ROOT,
        timeout=120,
    )


def test_compose_file_is_valid_and_complete():
    quiet = run_config(SECRETS, "-q")
    assert quiet.returncode == 0, quiet.stderr
    rendered = run_config(SECRETS)
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    services = config["services"]
    assert AIRFLOW_SERVICES | {"airflow-db", "warehouse", "redis"} <= set(services)
    commands = {name: " ".join(services[name]["command"]) for name in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == "airflow api-server"
    assert commands["airflow-dag-processor"] == "airflow dag-processor"
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "test-jwt-secret", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["DIASPORA_WAREHOUSE_URL"].startswith("postgresql+psycopg://diaspora:")
        assert "@warehouse:5432/diaspora" in env["DIASPORA_WAREHOUSE_URL"]
        assert env["DIASPORA_SURVEY_SALT"] == "test-salt", name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0", name
        # Compose v1 renders "host:target:mode", v2 a mapping; either way a host folder (bind mount).
        mounts = [
            v if isinstance(v, dict) else dict(zip(("source", "target"), v.split(":")[:2], strict=True))
            for v in services[name]["volumes"]
        ]
        surveys = [m for m in mounts if m["target"] == "/opt/diaspora-data/surveys"]
        assert surveys and surveys[0]["source"].endswith("/surveys"), name  # files arrive on the host
        if name != "airflow-init":
            assert "healthcheck" in services[name], name
            assert (
                services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
            )
    for name in ("airflow-db", "warehouse", "redis"):
        assert "healthcheck" in services[name]
    init = " ".join(services["airflow-init"]["command"])
    for step in ("airflow db migrate", "airflow users create", "diaspora migrate", "diaspora pool"):
        assert step in init


def test_compose_refuses_to_start_without_secrets():
    result = run_config({}, "-q")
    assert result.returncode != 0
    assert "AIRFLOW" in result.stderr or "WAREHOUSE" in result.stderr


def test_bi_profile_adds_metabase_reading_as_the_bi_role():
    rendered = run_config(SECRETS)
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    assert services["metabase"]["profiles"] == ["bi"] and services["metabase-setup"]["profiles"] == ["bi"]
    assert "profiles" not in services["airflow-scheduler"]  # the default stack needs no profile
    setup_env = services["metabase-setup"]["environment"]
    assert setup_env["DIASPORA_BI_ROLE"] == "diaspora_bi" and setup_env["DIASPORA_BI_PASSWORD"] == "test-bi"
    assert setup_env["METABASE_URL"] == "http://metabase:3000"
