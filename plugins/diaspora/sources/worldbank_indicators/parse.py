"""Parse the landed World Bank pages into dim_country, dim_indicator and fact_indicator_value."""

from __future__ import annotations

import pandas as pd

from diaspora.countries import country_table, reference_area_codes, unmapped_areas
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset
from diaspora.sources.worldbank_indicators import SOURCE
from diaspora.sources.worldbank_indicators.extract import AGGREGATE_REGION_ID, decode_page
from diaspora.sources.worldbank_indicators.settings import WorldBankConfig, config_for


def _landed_rows(manifest: Manifest, prefix: str) -> list[tuple[str, dict]]:
    rows = []
    for landed in sorted(manifest.files, key=lambda f: f.name):
        if landed.name.startswith(prefix):
            path = manifest.path_of(landed.name)
            _, page_rows = decode_page(path.read_bytes(), str(path))
            rows += [(str(path), row) for row in page_rows]
    return rows


def _nested(row: dict, field: str, key: str, where: str) -> str | None:
    value = row.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParseError(f"{where}: field '{field}' should be an object, got {value!r}")
    return value.get(key) or None


def parse_countries(manifest: Manifest) -> pd.DataFrame:
    """dim_country rows: World Bank regions and income groups on the conformed country rows."""
    records = []
    for where, row in _landed_rows(manifest, "country/"):
        for field in ("id", "iso2Code", "name", "region"):
            if field not in row:
                raise ParseError(f"{where}: a country row lacks field '{field}': {row}")
        region_id = _nested(row, "region", "id", where)
        is_aggregate = region_id == AGGREGATE_REGION_ID
        records.append(
            {
                "country_code": row["id"],
                "area_type": "aggregate" if is_aggregate else "country",
                "iso2": row["iso2Code"] or None,
                "name": row["name"],
                "wb_region_code": None if is_aggregate else region_id,
                "wb_region": None if is_aggregate else _nested(row, "region", "value", where),
                "wb_income_group_code": None if is_aggregate else _nested(row, "incomeLevel", "id", where),
                "wb_income_group": None if is_aggregate else _nested(row, "incomeLevel", "value", where),
                "is_aggregate": is_aggregate,
            }
        )
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        raise ParseError(f"{manifest.directory}/country: the API listed no countries")
    duplicated = frame["country_code"][frame["country_code"].duplicated()].tolist()
    if duplicated:
        raise ParseError(f"{manifest.directory}/country: duplicated country ids {duplicated[:5]}")
    # Countries take their names and codes from the conformed table, shared with every source; an
    # economy no reference file knows loads as 'unmapped' (the suite warns), never as a country.
    conformed = country_table().set_index("country_code")[["iso2", "name"]]
    known = frame["country_code"].isin(conformed.index) & ~frame["is_aggregate"]
    frame.loc[known, "name"] = conformed.loc[frame.loc[known, "country_code"], "name"].to_numpy()
    frame.loc[known, "iso2"] = conformed.loc[frame.loc[known, "country_code"], "iso2"].to_numpy()
    unmapped = ~frame["is_aggregate"] & ~frame["country_code"].isin(reference_area_codes())
    frame.loc[unmapped, "area_type"] = "unmapped"
    return frame


def _year(value: object, where: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise ParseError(f"{where}: field 'date' is not a year: {value!r}") from exc


def _value(value: object, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{where}: field 'value' is not a number: {value!r}") from exc


def parse_values(manifest: Manifest, countries: pd.DataFrame, config: WorldBankConfig) -> pd.DataFrame:
    """Indicator rows → fact rows; ISO3 comes from ``countryiso3code`` or, if blank, the ISO2 id."""
    code_by_iso2 = dict(zip(countries["iso2"], countries["country_code"], strict=False))
    percentage = {i.code for i in config.indicators if i.percentage}
    non_negative = {i.code for i in config.indicators if i.non_negative}
    records = []
    for where, row in _landed_rows(manifest, "indicator/"):
        for field in ("indicator", "country", "date", "value"):
            if field not in row:
                raise ParseError(f"{where}: an indicator row lacks field '{field}': {row}")
        code = _nested(row, "indicator", "id", where)
        iso3 = row.get("countryiso3code") or code_by_iso2.get(_nested(row, "country", "id", where))
        records.append(
            {
                "country_code": iso3,
                "indicator_code": code,
                "year": _year(row["date"], where),
                "value": _value(row["value"], where),
                "obs_status": row.get("obs_status") or None,
                "is_percentage": code in percentage,
                "non_negative": code in non_negative,
                "country_name": _nested(row, "country", "value", where),
            }
        )
    columns = [
        "country_code",
        "indicator_code",
        "year",
        "value",
        "obs_status",
        "is_percentage",
        "non_negative",
        "country_name",
    ]
    frame = pd.DataFrame.from_records(records, columns=columns).astype(
        {
            "country_code": "object",
            "indicator_code": "object",
            "year": "int64",
            "value": "float64",
            "obs_status": "object",
            "is_percentage": "bool",
            "non_negative": "bool",
        }
    )
    return frame.assign(change_vs_previous_year=change_vs_previous_year(frame))


def change_vs_previous_year(frame: pd.DataFrame) -> pd.Series:
    """(value − value a year before) ÷ |value a year before| within each non-negative series; NaN
    where there is no such year, either value is missing, or the earlier one is 0."""
    ordered = frame.sort_values(["country_code", "indicator_code", "year"])
    series = ordered.groupby(["country_code", "indicator_code"], sort=False)
    before, year_before = series["value"].shift(), series["year"].shift()
    change = (ordered["value"] - before) / before.abs().where(before != 0)
    usable = (year_before == ordered["year"] - 1) & ordered["non_negative"]
    return change.where(usable).reindex(frame.index)


def parse_indicators(manifest: Manifest, config: WorldBankConfig) -> pd.DataFrame:
    names_from_api = {}
    for _, row in _landed_rows(manifest, "indicator/"):
        code = (row.get("indicator") or {}).get("id")
        names_from_api.setdefault(code, (row.get("indicator") or {}).get("value"))
    return pd.DataFrame.from_records(
        [
            {
                "indicator_code": i.code,
                "name": names_from_api.get(i.code) or i.name,
                "unit": i.unit,
                "is_percentage": i.percentage,
                "topic": i.topic,
                "publisher": SOURCE.publisher,
            }
            for i in config.indicators
        ]
    )


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    config = config_for(settings)
    countries = parse_countries(manifest)
    values = parse_values(manifest, countries, config)
    # Economies with values that /country does not list load too, as 'unmapped' areas.
    names = dict(zip(values["country_code"], values["country_name"], strict=True))
    listed = set(countries["country_code"]) | reference_area_codes()
    extra = unmapped_areas({c: n for c, n in names.items() if c is not None}, listed)
    return ParsedDataset(
        frames={
            "dw.dim_country": pd.concat([countries, extra], ignore_index=True),
            "dw.dim_indicator": parse_indicators(manifest, config),
            "dw.fact_indicator_value": values.drop(columns=["country_name"]),
        }
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    """Run-time values for the suite: the years asked for and the codes that exist."""
    config = config_for(settings)
    countries = parsed.frames["dw.dim_country"]
    aggregates = set(countries.loc[countries["is_aggregate"].astype(bool), "country_code"])
    return {
        "min_year": config.start_year,
        "max_year": config.end_year,
        "known_country_codes": sorted(reference_area_codes() | aggregates),
        "configured_indicators": [i.code for i in config.indicators],
    }
