"""Source health: expected cadence and the thresholds that hold a new release back.

Read from ``config/source_health.yml``; synced into ``etl.source_health`` so that
``reporting.data_quality`` can say whether a source is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
import yaml

from diaspora.errors import ConfigError


@dataclass(frozen=True)
class SourceHealth:
    source: str
    cadence_days: int
    value_jump: float
    max_jump_share: float
    year_jump_factor: float = 10.0


def load_health(path: Path) -> dict[str, SourceHealth]:
    """Per-source settings; errors name the file, the source and the field."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: source health file not found") from exc
    health = {}
    for source, entry in raw.items():
        for field in ("cadence_days", "value_jump", "max_jump_share"):
            if not isinstance((entry or {}).get(field), int | float):
                raise ConfigError(f"{path}: source {source}: '{field}' must be a number")
        if not 0 <= entry["max_jump_share"] <= 1:
            raise ConfigError(f"{path}: source {source}: 'max_jump_share' must lie in [0, 1]")
        factor = entry.get("year_jump_factor", SourceHealth.year_jump_factor)
        if not isinstance(factor, int | float) or factor <= 1:
            raise ConfigError(f"{path}: source {source}: 'year_jump_factor' must be a number above 1")
        health[source] = SourceHealth(
            source,
            int(entry["cadence_days"]),
            float(entry["value_jump"]),
            float(entry["max_jump_share"]),
            float(factor),
        )
    return health


def health_for(path: Path, source: str) -> SourceHealth:
    health = load_health(path)
    if source not in health:
        raise ConfigError(f"{path}: no entry for source {source}")
    return health[source]


def health_frame(path: Path) -> pd.DataFrame:
    return pd.DataFrame([h.__dict__ for h in load_health(path).values()])


def release_age_days(release_date: date | None, today: date | None = None) -> int | None:
    if release_date is None:
        return None
    return ((today or datetime.now(UTC).date()) - release_date).days


def previous_release_values(
    engine: sa.Engine, source: str, fact_table: str, keys: list[str], value_column: str
) -> pd.DataFrame:
    """Key and value of every row of the last successfully loaded release of ``source``."""
    columns = ", ".join(f'"{c}"' for c in [*keys, value_column])
    query = sa.text(
        f"SELECT {columns} FROM {fact_table} WHERE release_id = ("
        " SELECT release_id FROM etl.load_run WHERE source = :source AND status = 'success'"
        " ORDER BY finished_at DESC, load_id DESC LIMIT 1)"
    )
    with engine.connect() as conn:
        return pd.read_sql(query, conn, params={"source": source})


def change_vs_previous(
    frame: pd.DataFrame, previous: pd.DataFrame, keys: list[str], value_column: str
) -> pd.Series:
    """(new − old) ÷ |old| per row where both are known and old ≠ 0; NaN elsewhere."""
    if previous.empty:
        return pd.Series(np.nan, index=frame.index)
    old = (
        frame[keys]
        .astype(object)
        .merge(
            previous.astype({k: object for k in keys}).rename(columns={value_column: "_old"}),
            how="left",
            on=keys,
        )["_old"]
        .to_numpy(dtype="float64")
    )
    new = frame[value_column].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(old != 0, (new - old) / np.abs(old), np.nan)
    return pd.Series(change, index=frame.index)
