"""Registry of diaspora institutions, organisations, policies and political rights: data, not prose.

One YAML file per country in ``reference/registry/``, validated by the models below; an error
names the file, the entry and the field. Loaded into ``dw`` with dated validity by the reference
sync of every run. Not the registry of data sources, which is :func:`diaspora.sources.registry`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from diaspora.countries import REFERENCE_DIR, known_code
from diaspora.errors import ConfigError

REGISTRY_DIR = REFERENCE_DIR / "registry"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Institution(_Entry):
    name: str
    level: Literal["ministerial", "sub-ministerial", "other"]
    founded: int | None = None
    role: str | None = None
    status: Literal["active", "inactive"] = "active"


class Organisation(_Entry):
    name: str
    host_country: str
    founded: int | None = None
    activities: list[Literal["integration", "development", "culture", "advocacy", "business", "education"]]

    _host = field_validator("host_country")(classmethod(lambda cls, v: known_code(v)))


class Policy(_Entry):
    title: str
    kind: Literal["law", "strategy", "agreement", "action plan", "concept", "roadmap", "plan"]
    year: int | None = None
    until: int | None = None
    status: str | None = None


class PoliticalRights(_Entry):
    dual_citizenship: Literal["allowed", "restricted", "not allowed"]
    dual_citizenship_with: list[str] = []
    dual_citizenship_since: int | None = None
    voting_from_abroad: str | None = None

    _with = field_validator("dual_citizenship_with")(classmethod(lambda cls, v: [known_code(c) for c in v]))


class CountryRegistry(_Entry):
    country: str
    source: str
    institutions: list[Institution] = []
    organisations: list[Organisation] = []
    policies: list[Policy] = []
    political_rights: PoliticalRights | None = None

    _country = field_validator("country")(classmethod(lambda cls, v: known_code(v)))


def _where(path: Path, raw: dict, location: tuple) -> str:
    """'institutions[2] ("Migration Service"), field level' from a pydantic error location."""
    parts, node = [], raw
    for step in location:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            label = node.get("name") or node.get("title") if isinstance(node, dict) else None
            parts[-1] += f"[{step}]" + (f' ("{label}")' if label else "")
        elif isinstance(node, dict) and step in node:
            node = node[step]
            parts.append(str(step))
        else:
            parts.append(str(step))
    entry, field = parts[:-1], parts[-1:] or [""]
    return f"{'.'.join(entry) or 'top level'}, field {field[0]}"


def load_registry(path: Path) -> CountryRegistry:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    try:
        registry = CountryRegistry.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(path, raw, e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
    if Path(path).stem != registry.country:
        raise ConfigError(f"{path}: the file is named {Path(path).stem} but describes {registry.country}")
    return registry


def _year(value: int | None, month: int = 1, day: int = 1) -> date | None:
    return date(value, month, day) if value else None


def registry_frames(directory: Path = REGISTRY_DIR) -> dict[str, pd.DataFrame]:
    """Rows of the four registry tables from every country file."""
    institutions, organisations, policies, rights = [], [], [], []
    for path in sorted(Path(directory).glob("*.yml")):
        r = load_registry(path)
        for i in r.institutions:
            institutions.append(
                {
                    "country_code": r.country,
                    "name": i.name,
                    "level": i.level,
                    "role": i.role,
                    "status": i.status,
                    "valid_from": _year(i.founded),
                    "valid_to": None,
                    "source": r.source,
                }
            )
        for o in r.organisations:
            organisations.append(
                {
                    "country_code": r.country,
                    "name": o.name,
                    "host_country_code": o.host_country,
                    "activities": ", ".join(o.activities),
                    "valid_from": _year(o.founded),
                    "valid_to": None,
                    "source": r.source,
                }
            )
        for p in r.policies:
            policies.append(
                {
                    "country_code": r.country,
                    "title": p.title,
                    "kind": p.kind,
                    "status": p.status,
                    "valid_from": _year(p.year),
                    "valid_to": _year(p.until, 12, 31),
                    "source": r.source,
                }
            )
        if r.political_rights:
            pr = r.political_rights
            rights.append(
                {
                    "country_code": r.country,
                    "dual_citizenship": pr.dual_citizenship,
                    "dual_citizenship_with": ", ".join(pr.dual_citizenship_with) or None,
                    "dual_citizenship_since": _year(pr.dual_citizenship_since),
                    "voting_from_abroad": pr.voting_from_abroad,
                    "source": r.source,
                }
            )
    return {
        "dw.dim_diaspora_institution": pd.DataFrame(institutions),
        "dw.dim_diaspora_organisation": pd.DataFrame(organisations),
        "dw.fact_diaspora_policy": pd.DataFrame(policies),
        "dw.dim_political_rights": pd.DataFrame(rights),
    }
