"""Source health: expected cadence and the thresholds that hold a new release back.

Read from ``config/source_health.yml``, where operators tune each source; a registered source
without an entry there gets its contract's cadence and the default thresholds. Synced into
``etl.source_health`` so that ``reporting.data_quality`` can say whether a source is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import yaml

from diaspora.errors import ConfigError
from diaspora.revisions import RevisionPolicy


@dataclass(frozen=True)
class SourceHealth:
    source: str
    cadence_days: int
    value_jump: float
    max_jump_share: float
    year_jump_factor: float = 10.0
    revisions: RevisionPolicy = RevisionPolicy()


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
            _revision_policy(entry.get("revisions") or {}, f"{path}: source {source}: revisions"),
        )
    return health


def _revision_policy(entry: dict, where: str) -> RevisionPolicy:
    """The source's revision policy; fields left out keep their defaults."""
    defaults = RevisionPolicy()
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a mapping of {', '.join(defaults.__dict__)}")
    unknown = sorted(set(entry) - set(defaults.__dict__))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {', '.join(defaults.__dict__)}")
    values = {**defaults.__dict__, **entry}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: '{name}' must be a number of at least 0, got {value!r}")
    for share in ("max_removed_share", "edition_max_removed_value_share"):
        if values[share] > 1:
            raise ConfigError(f"{where}: '{share}' must lie in [0, 1]")
    return RevisionPolicy(
        total_change_warning=float(values["total_change_warning"]),
        min_total=float(values["min_total"]),
        max_removed_share=float(values["max_removed_share"]),
        max_removed_countries=int(values["max_removed_countries"]),
        edition_max_removed_value_share=float(values["edition_max_removed_value_share"]),
    )


# Thresholds of a source that config/source_health.yml does not list (its cadence is its own).
DEFAULT_VALUE_JUMP, DEFAULT_MAX_JUMP_SHARE = 0.5, 0.05


def every_source_health(path: Path) -> dict[str, SourceHealth]:
    """The file's entries, and the defaults of every registered source it does not list."""
    from diaspora.sources import registry

    health = load_health(path)
    for key, source in registry().items():
        health.setdefault(
            key, SourceHealth(key, source.cadence_days, DEFAULT_VALUE_JUMP, DEFAULT_MAX_JUMP_SHARE)
        )
    return health


def health_for(path: Path, source: str) -> SourceHealth:
    health = every_source_health(path)
    if source not in health:
        raise ConfigError(f"{path}: no entry for source {source}, and no registered source of that name")
    return health[source]


def health_frame(path: Path) -> pd.DataFrame:
    """The rows of ``etl.source_health`` (the revision policy stays in the file)."""
    return pd.DataFrame(
        [
            {k: v for k, v in h.__dict__.items() if k != "revisions"}
            for h in every_source_health(path).values()
        ]
    )


def release_age_days(release_date: date | None, today: date | None = None) -> int | None:
    if release_date is None:
        return None
    return ((today or datetime.now(UTC).date()) - release_date).days
