"""Reference data every source shares: conformed countries, UN areas and dated country groups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from diaspora.countries import country_groups, country_table, special_areas, un_area_rows
from diaspora.health import health_frame
from diaspora.registry import registry_frames
from diaspora.warehouse.load import bulk_insert, merge


def sync_reference_data(engine: sa.Engine, source_health_file: Path) -> dict[str, int]:
    """Upsert countries, UN and special areas, source health; replace group memberships and the registry."""
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
        for table, frame in registry_frames().items():
            conn.exec_driver_sql(f"DELETE FROM {table}")
            merged[table] = bulk_insert(conn, table, frame)
    return merged
