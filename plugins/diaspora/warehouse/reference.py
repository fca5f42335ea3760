"""Reference data every source shares: conformed countries, UN areas and dated country groups.

Synced once per deploy by ``diaspora migrate``, which records a fingerprint of the files it
synced; a DAG run compares it with the files it sees and refuses to run on stale reference data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import country_converter
import pandas as pd
import sqlalchemy as sa

from diaspora.countries import REFERENCE_DIR, country_groups, country_table, special_areas, un_area_rows
from diaspora.engagement_registry import registry_frames
from diaspora.health import health_frame
from diaspora.remittance_model import rule_frames
from diaspora.warehouse.load import bulk_insert, merge
from diaspora.warehouse.mart import refresh_all


def sync_reference_data(engine: sa.Engine, source_health_file: Path) -> dict[str, int]:
    """Upsert countries, UN and special areas, source health; replace group memberships, the
    registry and the corridor model's rules; rebuild the reporting layer, which reads them (names,
    memberships, rules), in the same transaction."""
    countries = pd.concat([country_table(), un_area_rows(), special_areas()], ignore_index=True)
    groups, members = country_groups()
    with engine.begin() as conn:
        merged = {
            "dw.dim_country": merge(conn, "dw.dim_country", countries).landed,
            "dw.dim_country_group": merge(conn, "dw.dim_country_group", groups).landed,
            "etl.source_health": merge(conn, "etl.source_health", health_frame(source_health_file)).landed,
        }
        # Memberships and the registry are replaced wholesale: a corrected file is corrected here.
        conn.exec_driver_sql("DELETE FROM dw.bridge_country_group")
        merged["dw.bridge_country_group"] = bulk_insert(conn, "dw.bridge_country_group", members)
        for table, frame in {**registry_frames(), **rule_frames()}.items():
            conn.exec_driver_sql(f"DELETE FROM {table}")
            merged[table] = bulk_insert(conn, table, frame)
        conn.execute(
            sa.text("INSERT INTO etl.reference_sync (fingerprint, synced_at) VALUES (:f, :t)"),
            {"f": reference_fingerprint(source_health_file), "t": datetime.now(UTC)},
        )
        for refreshed in refresh_all(conn):
            merged[refreshed.table] = refreshed.rows
    return merged


def reference_fingerprint(source_health_file: Path) -> str:
    """sha256 over what reference data is built from: every file under reference/, the source
    health file and the country library's version."""
    digest = hashlib.sha256(f"country_converter {country_converter.__version__}".encode())
    files = sorted(p for p in REFERENCE_DIR.rglob("*") if p.is_file())
    for path in [*files, Path(source_health_file)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def synced_fingerprint(conn: sa.Connection) -> tuple[str, datetime] | None:
    """The fingerprint and time of the last reference sync, if any."""
    row = conn.execute(
        sa.text("SELECT fingerprint, synced_at FROM etl.reference_sync ORDER BY synced_at DESC LIMIT 1")
    ).first()
    return (row[0], row[1]) if row else None
