"""docker-compose.yml is valid for a real Compose implementation and keeps the production shape."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.support import ROOT

# Synthetic secrets of the lengths and forms the deploy's check asks for (diaspora.deploy.SECRETS).
SECRETS = {
    "AIRFLOW_JWT_SECRET": "jwt-Zq8Lw2Rk5Tn9Vb3Xc6Mf1Hd4Gs7Jp0Ya",
    "AIRFLOW_FERNET_KEY": "hQ3vV1bq5p8Yd2mK9tR6wX0zL4nC7sF1eJ3uA5gB8iM=",
    "AIRFLOW_DB_PASSWORD": "afdb-Rk5Tn9Vb3Xc6Mf1H",
    "WAREHOUSE_ADMIN_PASSWORD": "whadmin-Tn9Vb3Xc6Mf1Hd4",
    "WAREHOUSE_DB_PASSWORD": "whdb-Vb3Xc6Mf1Hd4Gs7J",
    "DIASPORA_BI_PASSWORD": "bi-Xc6Mf1Hd4Gs7Jp0Ya",
    "METABASE_ADMIN_PASSWORD": "mb-Mf1Hd4Gs7Jp0Y",
    "DIASPORA_SURVEY_SALT": "salt-Hd4Gs7Jp0YaZq8Lw2Rk5Tn9Vb3Xc6Mf1",
    "AIRFLOW_ADMIN_PASSWORD": "admin-Gs7Jp0YaZq8L",
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
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == SECRETS["AIRFLOW_JWT_SECRET"], name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["DIASPORA_WAREHOUSE_URL"].startswith("postgresql+psycopg://diaspora:")
        assert "@warehouse:5432/diaspora" in env["DIASPORA_WAREHOUSE_URL"]
        assert env["DIASPORA_SURVEY_SALT"] == SECRETS["DIASPORA_SURVEY_SALT"], name
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
    assert setup_env["DIASPORA_BI_ROLE"] == "diaspora_bi"
    assert setup_env["DIASPORA_BI_PASSWORD"] == SECRETS["DIASPORA_BI_PASSWORD"]
    assert setup_env["METABASE_URL"] == "http://metabase:3000"


def _published(service: dict) -> list[tuple[str, str]]:
    """(host address, host port) of each published port; Compose v1 renders "ip:port:target"."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), str(port.get("published", ""))))
        else:
            parts = str(port).split(":")
            out.append((parts[0] if len(parts) == 3 else "", parts[-2]))
    return out


def test_the_stack_is_safe_as_shipped():
    services = yaml.safe_load(run_config(SECRETS).stdout)["services"]
    for name in ("warehouse", "airflow-apiserver", "metabase"):
        assert _published(services[name]) and all(
            ip == "127.0.0.1" for ip, _ in _published(services[name])
        ), (
            name,
            services[name].get("ports"),
        )
    assert "ports" not in services["redis"] and "ports" not in services["airflow-db"]
    # The warehouse's superuser is the deploy's alone; the pipeline connects as another role.
    superuser = services["warehouse"]["environment"]["POSTGRES_USER"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert not env["DIASPORA_WAREHOUSE_URL"].startswith(f"postgresql+psycopg://{superuser}:"), name
        assert (
            SECRETS["WAREHOUSE_ADMIN_PASSWORD"] not in " ".join(map(str, env.values()))
            or name == "airflow-init"
        )
    admin_url = services["airflow-init"]["environment"]["DIASPORA_WAREHOUSE_ADMIN_URL"]
    assert admin_url.startswith(f"postgresql+psycopg://{superuser}:{SECRETS['WAREHOUSE_ADMIN_PASSWORD']}@")
    # Nothing starts before the secrets are checked: the databases wait for check-secrets.
    assert services["check-secrets"]["command"] == ["diaspora", "check-secrets"]
    for name in ("airflow-db", "warehouse"):
        assert services[name]["depends_on"]["check-secrets"]["condition"] == "service_completed_successfully"
    assert set(services["check-secrets"]["environment"]) >= {
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_FERNET_KEY",
        "WAREHOUSE_ADMIN_PASSWORD",
        "DIASPORA_SURVEY_SALT",
    }


def test_the_bind_address_is_a_choice():
    services = yaml.safe_load(run_config({**SECRETS, "DIASPORA_BIND_ADDRESS": "0.0.0.0"}).stdout)["services"]
    assert _published(services["warehouse"]) == [("0.0.0.0", "5433")]


def test_the_shipped_example_env_renders_but_its_check_refuses_it():
    """`cp .env.example .env && docker compose up` renders, and check-secrets (which the databases
    wait for) refuses every placeholder: a stack copied as shipped does not start."""
    from diaspora.deploy import secret_problems
    from tests.unit.test_deploy import _values

    # Compose v1 interpolates every service, the bi profile's too: its commented line uncommented.
    shipped = {**_values((ROOT / ".env.example").read_text()), "METABASE_ADMIN_PASSWORD": "change-me"}
    rendered = run_config(shipped)
    assert rendered.returncode == 0, rendered.stderr
    check_env = yaml.safe_load(rendered.stdout)["services"]["check-secrets"]["environment"]
    problems = secret_problems({k: str(v) for k, v in check_env.items()})
    assert len(problems) == 9 and all("is a placeholder" in p for p in problems), problems
