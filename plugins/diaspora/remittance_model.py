"""The bilateral remittance model's rules, as data: ``reference/remittance_corridors.yml``.

Its parameter (the income-gap exponent of the published method), the corridors it follows the
publisher in not estimating, and the countries whose emigrants UN DESA counts within another
country. Validated here (an error names the file, the entry and the field), synced into ``dw`` by
``diaspora migrate`` and read by ``sql/mart/06_remittance_corridors.sql``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from diaspora.countries import REFERENCE_DIR, known_code
from diaspora.errors import ConfigError

RULES_FILE = REFERENCE_DIR / "remittance_corridors.yml"
# The parameters the model's SQL reads, each required.
PARAMETERS = ("income_gap_exponent",)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str = Field(min_length=10)  # every rule says why


class Parameter(_Rule):
    name: str
    value: float


class Exclusion(_Rule):
    origin: str  # the country receiving the remittances
    destination: str  # the country sending them

    _codes = field_validator("origin", "destination")(known_code)


class StockProxy(_Rule):
    country: str
    proxy: str

    _codes = field_validator("country", "proxy")(known_code)


class ModelRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: list[Parameter]
    exclusions: list[Exclusion] = []
    stock_proxies: list[StockProxy] = []

    @model_validator(mode="after")
    def _complete(self) -> ModelRules:
        names = [p.name for p in self.parameters]
        missing = [name for name in PARAMETERS if name not in names]
        unknown = [name for name in names if name not in PARAMETERS]
        if missing or unknown or len(set(names)) != len(names):
            raise ValueError(f"parameters must be exactly {list(PARAMETERS)}, once each; got {names}")
        exponent = self.parameter("income_gap_exponent")
        if not 0 < exponent <= 1:
            raise ValueError(f"income_gap_exponent must be in (0, 1], got {exponent}")
        pairs = [(e.origin, e.destination) for e in self.exclusions]
        if len(set(pairs)) != len(pairs):
            raise ValueError("an exclusion is listed twice")
        return self

    def parameter(self, name: str) -> float:
        return next(p.value for p in self.parameters if p.name == name)


def load_rules(path: Path = RULES_FILE) -> ModelRules:
    try:
        return ModelRules.model_validate(yaml.safe_load(Path(path).read_text()) or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc


def rule_frames(path: Path = RULES_FILE) -> dict[str, pd.DataFrame]:
    """Rows of the three rule tables, replaced wholesale at each reference sync."""
    rules = load_rules(path)
    source = Path(path).name
    return {
        "dw.remittance_model_parameter": pd.DataFrame(
            [{"name": p.name, "value": p.value, "why": p.why, "source": source} for p in rules.parameters]
        ),
        "dw.remittance_corridor_exclusion": pd.DataFrame(
            [
                {"origin_code": e.origin, "destination_code": e.destination, "why": e.why, "source": source}
                for e in rules.exclusions
            ],
            columns=["origin_code", "destination_code", "why", "source"],
        ),
        "dw.remittance_stock_proxy": pd.DataFrame(
            [
                {"country_code": p.country, "proxy_code": p.proxy, "why": p.why, "source": source}
                for p in rules.stock_proxies
            ],
            columns=["country_code", "proxy_code", "why", "source"],
        ),
    }
