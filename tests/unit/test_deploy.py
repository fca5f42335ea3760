"""The deploy's secret check: the shipped .env.example can never start a stack, a generated .env can."""

from __future__ import annotations

import re
import subprocess

import pytest

from diaspora.deploy import SECRETS, env_with_secrets, secret_problems
from tests.support import ROOT

BIN = ROOT / ".venv" / "bin"


def _values(text: str) -> dict[str, str]:
    """KEY=value lines as Compose reads them (an unquoted value ends at ' #')."""
    pairs = (re.match(r"^([A-Z0-9_]+)=(.*?)(\s+#.*)?$", line) for line in text.splitlines())
    return {m.group(1): m.group(2).strip() for m in pairs if m}


def test_every_secret_of_the_shipped_example_is_refused_by_name():
    shipped = _values((ROOT / ".env.example").read_text())
    problems = secret_problems(shipped)
    for secret in (s for s in SECRETS if s.required):
        assert any(p.startswith(f"{secret.name} ") for p in problems), (secret.name, problems)


def test_a_generated_env_passes_and_differs_each_time():
    template = (ROOT / ".env.example").read_text()
    first, second = _values(env_with_secrets(template)), _values(env_with_secrets(template))
    assert secret_problems(first) == []
    assert all(first[s.name] != second[s.name] for s in SECRETS)
    assert "METABASE_ADMIN_PASSWORD" in first  # the commented-out optional one is filled in too


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("AIRFLOW_JWT_SECRET", "change-me-long-random-string-xxxxxxxxxxxx", "is a placeholder"),
        ("AIRFLOW_JWT_SECRET", "Qw3rTy7uIo9pAs", "has 14 characters; at least 32"),
        ("DIASPORA_SURVEY_SALT", "supersecretsalt-supersecretsalt-123", "is a placeholder"),
        ("AIRFLOW_FERNET_KEY", "not-a-fernet-key-at-all-but-long-enough-to-pass", "is not a Fernet key"),
        ("WAREHOUSE_DB_PASSWORD", "postgres", "is a placeholder"),
        ("AIRFLOW_ADMIN_PASSWORD", "", "is not set"),
    ],
)
def test_placeholders_short_and_malformed_secrets_are_named(name, value, reason):
    env = _values(env_with_secrets((ROOT / ".env.example").read_text()))
    env[name] = value

    assert [p for p in secret_problems(env) if p.startswith(name)] == [p for p in secret_problems(env)]
    assert reason in secret_problems(env)[0]


def test_check_secrets_command_exits_2_naming_each_refusal():
    shipped = _values((ROOT / ".env.example").read_text())
    result = subprocess.run(
        [str(BIN / "diaspora"), "check-secrets"],
        env={"PATH": str(BIN), **shipped},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refused: AIRFLOW_JWT_SECRET is a placeholder" in result.stderr
    assert "refused: DIASPORA_SURVEY_SALT is a placeholder" in result.stderr
    assert "diaspora secrets > .env" in result.stderr


def test_secrets_never_enter_the_image():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".env.*" in ignored
