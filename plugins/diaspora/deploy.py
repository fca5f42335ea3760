"""What a production deploy enforces before anything starts: real secrets, and a warehouse the
pipeline reaches as an owner role that is not a superuser.

``diaspora check-secrets`` runs first in ``docker-compose.yml`` (the databases wait for it): a
placeholder (``change-me`` and the like) or a too-short secret stops the stack, naming each.
``diaspora secrets`` writes a ``.env`` with every secret freshly generated.
``diaspora migrate`` with ``DIASPORA_WAREHOUSE_ADMIN_URL`` set connects once as that superuser to
create the owner role of ``DIASPORA_WAREHOUSE_URL`` (NOSUPERUSER: no ``COPY … FROM PROGRAM``), then
migrates as the owner; the pipeline never holds the superuser's password.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from diaspora.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    name: str  # as in .env
    min_length: int
    kind: str = "token"  # token | fernet
    required: bool = True


SECRETS = (
    Secret("AIRFLOW_JWT_SECRET", 32),  # signs API and execution-API tokens
    Secret("AIRFLOW_FERNET_KEY", 44, kind="fernet"),  # encrypts connections' passwords
    Secret("AIRFLOW_DB_PASSWORD", 16),
    Secret("AIRFLOW_ADMIN_PASSWORD", 12),
    Secret("WAREHOUSE_ADMIN_PASSWORD", 16),  # the warehouse's superuser: the deploy alone uses it
    Secret("WAREHOUSE_DB_PASSWORD", 16),  # the pipeline's owner role
    Secret("DIASPORA_BI_PASSWORD", 16),
    Secret("DIASPORA_SURVEY_SALT", 32),  # a guessable salt makes hashed phone numbers reversible
    Secret("METABASE_ADMIN_PASSWORD", 12, required=False),
)
# Values seen in examples and tutorials: refused whatever their length.
PLACEHOLDERS = re.compile(
    r"change[-_ ]?me|changeit|placeholder|replace[-_ ]?me|example|your[-_]|secret|password|passw0rd|"
    r"letmein|default|^(admin|airflow|postgres|diaspora|test|xxx+|123+)$",
    re.IGNORECASE,
)


def secret_problems(env: Mapping[str, str]) -> list[str]:
    """One line per secret of ``env`` that is missing, a known placeholder or too short."""
    problems = []
    for secret in SECRETS:
        value = (env.get(secret.name) or "").strip()
        if not value:
            if secret.required:
                problems.append(f"{secret.name} is not set")
            continue
        if PLACEHOLDERS.search(value):
            problems.append(f"{secret.name} is a placeholder ({_masked(value)}): generate a real one")
        elif secret.kind == "fernet" and not _is_fernet_key(value):
            problems.append(f"{secret.name} is not a Fernet key (32 url-safe base64-encoded bytes)")
        elif len(value) < secret.min_length:
            problems.append(
                f"{secret.name} has {len(value)} characters; at least {secret.min_length} are needed"
            )
    return problems


def check_secrets(env: Mapping[str, str]) -> None:
    problems = secret_problems(env)
    if problems:
        raise ConfigError(
            "The deploy refuses these secrets:\n  - "
            + "\n  - ".join(problems)
            + "\nGenerate every one with `diaspora secrets > .env` (or `make secrets`), then start again."
        )


def _masked(value: str) -> str:
    return f"{value[:8]}…" if len(value) > 8 else value


def _is_fernet_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def generated(secret: Secret) -> str:
    if secret.kind == "fernet":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(max(32, secret.min_length))


def env_with_secrets(template: str) -> str:
    """``template`` (.env.example) with every secret line, commented out or not, given a fresh value."""
    names = {s.name: s for s in SECRETS}
    lines = []
    for line in template.splitlines():
        match = re.match(r"^#?\s*([A-Z0-9_]+)=([^#]*)(#.*)?$", line)
        if match and match.group(1) in names:
            comment = f"   {match.group(3)}" if match.group(3) else ""
            line = f"{match.group(1)}={generated(names[match.group(1)])}{comment}"
        lines.append(line)
    return "\n".join(lines) + "\n"


# --- the warehouse's owner role -------------------------------------------------------------------

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def provision_owner(admin_url: str, warehouse_url: str) -> str:
    """As the superuser of ``admin_url``: the login role of ``warehouse_url`` as a NOSUPERUSER owner
    (created, or altered to match), allowed to create schemas in its database; return its name."""
    owner_url, admin = sa.make_url(warehouse_url), sa.make_url(admin_url)
    owner, password = owner_url.username or "", owner_url.password or ""
    if not _ROLE.match(owner):
        raise ConfigError(f"DIASPORA_WAREHOUSE_URL's user {owner!r} must be a lower-case SQL identifier")
    if owner == admin.username:
        raise ConfigError(
            "DIASPORA_WAREHOUSE_URL connects as the superuser of DIASPORA_WAREHOUSE_ADMIN_URL: give the "
            "pipeline its own user (the deploy creates it NOSUPERUSER)"
        )
    if not password:
        raise ConfigError("DIASPORA_WAREHOUSE_URL has no password for the pipeline's owner role")
    with admin_connection(admin_url) as conn:
        superuser = conn.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).scalar()
        if not superuser:
            raise ConfigError("DIASPORA_WAREHOUSE_ADMIN_URL must connect as a superuser (it creates roles)")
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": owner}).first()
        quoted = "'" + password.replace("'", "''") + "'"
        conn.exec_driver_sql(
            f"{'ALTER' if exists else 'CREATE'} ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOREPLICATION NOBYPASSRLS PASSWORD {quoted.replace('%', '%%')}"
        )
        conn.exec_driver_sql(f'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "{database}" TO {owner}')
        for (schema,) in conn.exec_driver_sql(
            "SELECT nspname FROM pg_namespace WHERE nspname IN ('staging', 'dw', 'etl', 'mart', 'reporting')"
        ):
            _hand_over(conn, schema, owner)
    return owner


@contextmanager
def admin_connection(admin_url: str) -> Iterator[sa.Connection]:
    """One transaction as the deploy's superuser, its connection closed after (never pooled)."""
    engine = sa.create_engine(admin_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _hand_over(conn: sa.Connection, schema: str, owner: str) -> None:
    """A schema an earlier deploy created as the superuser, with its tables and views, to the owner."""
    conn.exec_driver_sql(f"ALTER SCHEMA {schema} OWNER TO {owner}")
    for name, kind in conn.execute(
        sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind IN ('r', 'v', 'm', 'S', 'p')"
        ),
        {"s": schema},
    ):
        verb = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}.get(kind, "TABLE")
        conn.exec_driver_sql(f'ALTER {verb} {schema}."{name}" OWNER TO {owner}')
