"""Short text reports read from the ``reporting`` views (what ``make demo`` prints)."""

from __future__ import annotations

import sqlalchemy as sa

from diaspora.settings import Settings
from diaspora.warehouse.engine import get_engine

NOT_AVAILABLE = "not available"


def latest_remittances(settings: Settings, years: int = 3) -> list[dict]:
    """The ``years`` latest years of ``reporting.remittances`` per country (aggregates excluded)."""
    query = sa.text(
        "SELECT country_code, country_name, year, remittances_received_usd,"
        " remittances_received_pct_gdp, gdp_usd, release_label, source_dataset, licence"
        " FROM (SELECT r.*, row_number() OVER (PARTITION BY country_code ORDER BY year DESC) AS n"
        "       FROM reporting.remittances AS r"
        "       WHERE NOT is_aggregate AND remittances_received_usd IS NOT NULL) AS ranked"
        " WHERE n <= :years ORDER BY country_name, year"
    )
    with get_engine(settings.warehouse_url).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query, {"years": years})]


def _usd_millions(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value / 1e6:,.1f}"


def _percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.1f}"


def format_remittances(rows: list[dict]) -> str:
    if not rows:
        return "reporting.remittances is empty: run a source DAG first (make demo or make run)."
    header = f"{'Country':<18} {'Year':>4} {'Received, USD m':>16} {'% of GDP':>14} {'GDP, USD m':>14}"
    lines = ["Personal remittances received (reporting.remittances)", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['country_name'][:18]:<18} {row['year']:>4} "
            f"{_usd_millions(row['remittances_received_usd']):>16} "
            f"{_percent(row['remittances_received_pct_gdp']):>14} "
            f"{_usd_millions(row['gdp_usd']):>14}"
        )
    sources = sorted({(r["source_dataset"], r["release_label"], r["licence"]) for r in rows})
    lines.append("")
    lines += [
        f"Source: {dataset}, release {release}; licence {licence}." for dataset, release, licence in sources
    ]
    return "\n".join(lines)
