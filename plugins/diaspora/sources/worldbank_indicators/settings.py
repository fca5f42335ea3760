"""The World Bank source's configuration: the indicators to pull and their years
(``config/worldbank_indicators.yml``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import yaml

from diaspora.errors import ConfigError
from diaspora.settings import Settings


@dataclass(frozen=True)
class IndicatorConfig:
    code: str
    name: str
    unit: str | None
    topic: str | None
    percentage: bool
    non_negative: bool  # amounts and counts: a negative value is an error (percentages are too)


@dataclass(frozen=True)
class WorldBankConfig:
    start_year: int
    end_year: int
    indicators: tuple[IndicatorConfig, ...]


def load_config(path: Path) -> WorldBankConfig:
    """Read and check the indicator YAML; errors name the file and the field."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
        end = raw.get("end_year", "latest")
        end_year = datetime.now(UTC).year if end == "latest" else int(end)
        indicators = tuple(
            IndicatorConfig(
                code=str(item["code"]),
                name=str(item["name"]),
                unit=item.get("unit"),
                topic=item.get("topic"),
                percentage=bool(item.get("percentage", False)),
                non_negative=bool(item.get("non_negative", False) or item.get("percentage", False)),
            )
            for item in raw["indicators"]
        )
        config = WorldBankConfig(
            start_year=int(raw["start_year"]),
            end_year=end_year,
            indicators=indicators,
        )
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: indicator configuration file not found") from exc
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: invalid indicator configuration ({exc!r})") from exc
    codes = [i.code for i in indicators]
    if not codes or len(set(codes)) != len(codes):
        raise ConfigError(f"{path}: 'indicators' must list each code once, got {codes}")
    if config.start_year > config.end_year:
        raise ConfigError(f"{path}: start_year {config.start_year} is after end_year {end_year}")
    return config


@lru_cache(maxsize=4)
def _cached_config(path: str, _mtime: float) -> WorldBankConfig:
    return load_config(Path(path))


def config_for(settings: Settings) -> WorldBankConfig:
    path = Path(settings.worldbank_indicators_file)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _cached_config(str(path), mtime)
