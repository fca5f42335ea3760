"""One-shot Metabase setup for the compose `bi` profile: admin user + the warehouse as diaspora_bi.

Standard library only (runs in the project image). Idempotent: does nothing once Metabase is set up.
Environment: METABASE_URL, METABASE_ADMIN_EMAIL, METABASE_ADMIN_PASSWORD, WAREHOUSE_HOST,
WAREHOUSE_PORT, WAREHOUSE_DB, DIASPORA_BI_ROLE, DIASPORA_BI_PASSWORD.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request


def call(method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        os.environ["METABASE_URL"].rstrip("/") + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def wait_until_up(attempts: int = 60) -> dict:
    for _ in range(attempts):
        try:
            return call("GET", "/api/session/properties")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(5)
    sys.exit("Metabase did not come up; check the metabase service's logs.")


def main() -> int:
    properties = wait_until_up()
    token = properties.get("setup-token")
    if not token or properties.get("has-user-setup"):
        print("Metabase is already set up; nothing to do.")
        return 0
    call(
        "POST",
        "/api/setup",
        {
            "token": token,
            "user": {
                "email": os.environ["METABASE_ADMIN_EMAIL"],
                "password": os.environ["METABASE_ADMIN_PASSWORD"],
                "first_name": "Diaspora",
                "last_name": "Admin",
                "site_name": "Diaspora warehouse",
            },
            "prefs": {"site_name": "Diaspora warehouse", "allow_tracking": False},
            "database": {
                "engine": "postgres",
                "name": "Diaspora warehouse (reporting)",
                "details": {
                    "host": os.environ.get("WAREHOUSE_HOST", "warehouse"),
                    "port": int(os.environ.get("WAREHOUSE_PORT", "5432")),
                    "dbname": os.environ.get("WAREHOUSE_DB", "diaspora"),
                    "user": os.environ.get("DIASPORA_BI_ROLE", "diaspora_bi"),
                    "password": os.environ["DIASPORA_BI_PASSWORD"],
                    "schema-filters-type": "inclusion",
                    "schema-filters-patterns": "reporting",
                },
            },
        },
    )
    print("Metabase set up with the warehouse's reporting schema as diaspora_bi.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
