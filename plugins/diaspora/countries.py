"""Conformed countries and groups, shared by every source.

Countries resolve through country_converter's country table (ISO 3166 codes, UN M49 codes, UN
regions), read directly from its data file; the few locations it does not cover are decided
explicitly in ``reference/location_exceptions.yml``. UN aggregates (regions, development and
income groups) and residual categories come from ``reference/un_m49_areas.csv``; the codes
publishers use for what is not a country (unknown, stateless, territories, "not broken down")
from ``reference/special_areas.csv``. Country groups with dated membership come from
``reference/country_groups.yml``.

Every code a source uses becomes a member of ``dw.dim_country``, so warehouse totals equal the
publisher's. The member's ``area_type`` (its kind) is one of :data:`AREA_TYPES`; a code found in
none of the reference files loads as ``unmapped`` (keyed as the source wrote it, or
``<PREFIX>:<code>`` when it is not a three-letter code) and its source warns about it.

Publishers that name places instead of coding them (the World Bank/KNOMAD matrices: ``Korea,
Rep.``, ``Kosovo``, ``WORLD``) resolve each name with :func:`resolve_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import country_converter
import pandas as pd
import yaml

from diaspora.errors import ConfigError
from diaspora.settings import PROJECT_ROOT

REFERENCE_DIR = PROJECT_ROOT / "reference"
COUNTRY_COLUMNS = [
    "country_code",
    "area_type",
    "iso2",
    "m49",
    "name",
    "name_official",
    "un_region",
    "un_subregion",
    "is_aggregate",
]
AREA_TYPES = ("country", "territory", "aggregate", "residual", "unknown", "stateless", "unmapped")
# Kinds that are places to report on one by one (aggregates, residuals and the rest are not).
PLACE_TYPES = ("country", "territory")
# country_converter says "America" where UN M49 says "Americas".
_UN_REGION = {"America": "Americas"}


def un_area_code(m49: int) -> str:
    """Key of a UN aggregate or residual category in dim_country."""
    return f"M49:{m49}"


@dataclass(frozen=True)
class Location:
    """A resolved UN location: a country, an aggregate or a residual category."""

    code: str
    area_type: str
    name: str


@lru_cache(maxsize=1)
def _country_data() -> pd.DataFrame:
    """country_converter's country table as its data file has it (every column as text)."""
    data_file = Path(country_converter.__file__).parent / "country_data.tsv"
    # keep_default_na=False: Namibia's ISO2 "NA" is a code, not a missing value.
    return pd.read_csv(data_file, sep="\t", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def country_table() -> pd.DataFrame:
    """Every country the project knows, as dim_country rows (library data + explicit exceptions)."""
    data = _country_data()
    data = data[data["ISO3"].str.fullmatch(r"[A-Z]{3}")]  # drops codes like BA1 (not ISO)
    table = pd.DataFrame(
        {
            "country_code": data["ISO3"],
            "area_type": "country",
            # A few ISO2 cells are patterns ("^GR$|^EL$"): the first code is the ISO one.
            "iso2": data["ISO2"].str.extract(r"([A-Z]{2})", expand=False),
            "m49": pd.to_numeric(data["UNcode"].replace("", None)).astype("Int64"),
            "name": data["name_short"],
            "name_official": data["name_official"].replace("", None),
            "un_region": data["continent"].replace(_UN_REGION).replace("", None),
            "un_subregion": data["UNregion"].replace("", None),
            "is_aggregate": False,
        }
    )
    exceptions = yaml.safe_load((REFERENCE_DIR / "location_exceptions.yml").read_text())["countries"]
    for entry in exceptions:
        known = table["country_code"] == entry["code"]
        if known.any():
            table.loc[known, "m49"] = entry["m49"]
        else:
            row = {
                "country_code": entry["code"],
                "area_type": "country",
                "iso2": entry.get("iso2"),
                "m49": entry["m49"],
                "name": entry["name"],
                "name_official": None,
                "un_region": entry.get("un_region"),
                "un_subregion": entry.get("un_subregion"),
                "is_aggregate": False,
            }
            table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    return table[COUNTRY_COLUMNS].drop_duplicates("country_code").reset_index(drop=True)


@lru_cache(maxsize=1)
def un_areas() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "un_m49_areas.csv", dtype={"m49": int, "name": str, "area_type": str})


@lru_cache(maxsize=1)
def _by_m49() -> dict[int, Location]:
    locations = {}
    for row in un_areas().itertuples():
        locations[row.m49] = Location(un_area_code(row.m49), row.area_type, row.name)
    for row in country_table().dropna(subset=["m49"]).itertuples():
        locations[int(row.m49)] = Location(row.country_code, "country", row.name)
    return locations


def resolve_m49(m49: int, name: str) -> Location | None:
    """The location of a UN code; residual "Other …" rows resolve by name; None if unknown."""
    location = _by_m49().get(m49)
    if location is None and name.strip().lower().startswith("other"):
        return Location(un_area_code(m49), "residual", name.strip())
    return location


def _normalised_name(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().casefold()


@lru_cache(maxsize=1)
def _name_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """country_converter's name pattern (its ``regex`` column) of every country in the conformed
    table, with the country's code."""
    data = _country_data()
    known = known_country_codes()
    return tuple(
        (re.compile(pattern, re.IGNORECASE), code)
        for pattern, code in zip(data["regex"], data["ISO3"], strict=True)
        if pattern and code in known
    )


@lru_cache(maxsize=1)
def _un_area_names() -> dict[str, str]:
    """A UN aggregate's or residual category's name (normalised) → its dim_country key."""
    return {_normalised_name(row.name): un_area_code(row.m49) for row in un_areas().itertuples()}


@lru_cache(maxsize=4096)
def resolve_name(name: str) -> str | None:
    """The dim_country key of a place a publisher names rather than codes, or None.

    A UN area's own name (``reference/un_m49_areas.csv``, case and spacing aside) resolves to its
    key: ``WORLD`` → ``M49:900``. Any other name resolves to the one country whose
    country_converter pattern matches it: ``Korea, Rep.`` → ``KOR``, ``Kosovo`` → ``XKX``,
    ``Channel Islands`` → ``CHI``. A name no pattern matches, or that patterns of two countries
    match, is None: the caller loads it as an ``unmapped`` area (:func:`unmapped_areas`) and its
    suite warns, so that a person decides it rather than a guess.
    """
    text = _normalised_name(name)
    if not text:
        return None
    area = _un_area_names().get(text)
    if area is not None:
        return area
    codes = {code for pattern, code in _name_patterns() if pattern.search(text)}
    return codes.pop() if len(codes) == 1 else None


def un_area_rows() -> pd.DataFrame:
    """dim_country rows of the UN aggregates and residual categories of the reference file."""
    areas = un_areas()
    return pd.DataFrame(
        {
            "country_code": [un_area_code(m) for m in areas["m49"]],
            "area_type": areas["area_type"],
            "iso2": None,
            "m49": areas["m49"],
            "name": areas["name"],
            "name_official": None,
            "un_region": None,
            "un_subregion": None,
            "is_aggregate": areas["area_type"] == "aggregate",
        }
    )[COUNTRY_COLUMNS]


def known_country_codes() -> set[str]:
    return set(country_table()["country_code"])


def known_code(code: str) -> str:
    """``code`` if it is a conformed country's, else ValueError (for reference files' validators)."""
    if code not in known_country_codes():
        raise ValueError(f"unknown country code {code!r}")
    return code


@lru_cache(maxsize=1)
def special_areas() -> pd.DataFrame:
    """Publishers' codes for what is not a country, as dim_country rows (``reference/special_areas.csv``)."""
    areas = pd.read_csv(REFERENCE_DIR / "special_areas.csv", dtype=str, keep_default_na=False)
    unknown_kinds = sorted(set(areas["area_type"]) - set(AREA_TYPES))
    if unknown_kinds:
        raise ConfigError(f"{REFERENCE_DIR / 'special_areas.csv'}: unknown area_type(s) {unknown_kinds}")
    return pd.DataFrame(
        {
            "country_code": areas["code"],
            "area_type": areas["area_type"],
            "iso2": None,
            "m49": pd.array([None] * len(areas), dtype="Int64"),
            "name": areas["name"],
            "name_official": None,
            "un_region": None,
            "un_subregion": None,
            "is_aggregate": areas["is_aggregate"].str.lower().eq("true"),
        }
    )[COUNTRY_COLUMNS]


@lru_cache(maxsize=1)
def reference_area_codes() -> frozenset[str]:
    """Every code the reference files decide: countries, UN areas and special areas."""
    return frozenset(
        known_country_codes() | set(un_area_rows()["country_code"]) | set(special_areas()["country_code"])
    )


def unmapped_areas(names: dict[str, str], known: set[str] | frozenset[str]) -> pd.DataFrame:
    """dim_country rows of kind ``unmapped`` for the codes of ``names`` (code → the source's name)
    that are not in ``known``: they load, so totals stay whole, and the source's suite warns."""
    codes = sorted(code for code in names if code not in known)
    return pd.DataFrame(
        {
            "country_code": codes,
            "area_type": "unmapped",
            "name": [names[code] or code for code in codes],
            "is_aggregate": False,
        },
        columns=["country_code", "area_type", "name", "is_aggregate"],
    )


# --- groups -----------------------------------------------------------------------------------


def _as_date(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def country_groups(path: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(groups, memberships) from the reference file; errors name the group and country."""
    path = path or REFERENCE_DIR / "country_groups.yml"
    raw = yaml.safe_load(Path(path).read_text())["groups"]
    known = known_country_codes()
    groups, members = [], []
    for group_code, group in raw.items():
        groups.append({"group_code": group_code, "name": group["name"], "note": group.get("note")})
        for country, dates in (group.get("members") or {}).items():
            where = f"{path}: group {group_code}, member {country}"
            if country not in known:
                raise ConfigError(f"{where}: unknown country code")
            dates = dates or {}
            valid_from, valid_to = _as_date(dates.get("from"), where), _as_date(dates.get("to"), where)
            if valid_from and valid_to and valid_to < valid_from:
                raise ConfigError(f"{where}: 'to' {valid_to} is before 'from' {valid_from}")
            members.append(
                {
                    "group_code": group_code,
                    "country_code": country,
                    "valid_from": valid_from or date(1900, 1, 1),
                    "valid_to": valid_to,
                }
            )
    return pd.DataFrame(groups), pd.DataFrame(members)
