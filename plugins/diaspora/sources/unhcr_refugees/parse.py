"""Parse UNHCR's population pages into fact_refugee_population rows (one per item and population type)."""

from __future__ import annotations

import pandas as pd

from diaspora.countries import reference_area_codes, unmapped_areas
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset, ParseNotice
from diaspora.sources.unhcr_refugees.extract import (
    CODE_FIELDS,
    NOT_BROKEN_DOWN,
    POPULATION_TYPES,
    decode_page,
)

# Item fields that are not a population type: the year, and each side's id, name and codes.
ITEM_FIELDS = ("year", "coo_id", "coo_name", "coo", "coo_iso", "coa_id", "coa_name", "coa", "coa_iso")


def _notices(items: pd.DataFrame) -> list[ParseNotice]:
    """A field UNHCR added (a new population type, say): named in a warning with the items that
    carry a value in it, kept in the landing, not loaded."""
    known = {*ITEM_FIELDS, *POPULATION_TYPES, "page"} | {f"has_{t}" for t in POPULATION_TYPES}
    return [
        ParseNotice(
            kind="unknown_field",
            field=str(field),
            count=int(items[field].notna().sum()),
            why="a field of UNHCR's items that this parser does not know: it stays in the landing and is "
            "not loaded; if it is a population type, add it to POPULATION_TYPES "
            "(sources/unhcr_refugees/extract.py) and load the landing again (`diaspora backfill`)",
        )
        for field in sorted(set(items.columns) - known)
    ]


def _items(manifest: Manifest) -> pd.DataFrame:
    """Every item of every landed page, with the page it came from (for error messages)."""
    frames = []
    for landed in sorted(manifest.files, key=lambda f: f.name):
        where = str(manifest.path_of(landed.name))
        items = decode_page(manifest.path_of(landed.name).read_bytes(), where)["items"] or []
        for field in ("year", "coo_iso", "coa_iso"):
            missing = next((item for item in items if field not in item), None)
            if missing is not None:
                raise ParseError(f"{where}: an item lacks field '{field}': {str(missing)[:200]}")
        page = pd.DataFrame.from_records(items)
        # A population type absent from an item is not reported (no row); present but null is NULL.
        for population_type in POPULATION_TYPES:
            page[f"has_{population_type}"] = [population_type in item for item in items]
        frames.append(page.assign(page=where))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["year", "page"])


def _codes(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip()
    return text.mask(text == "-", NOT_BROKEN_DOWN).mask(text == "", None).astype(object)


def _counts(column: pd.Series, pages: pd.Series, field: str) -> pd.Series:
    """Counts as floats: numbers, numeric text ("1,234"), "-" or empty → NULL; else an error."""
    text = column.astype("string").str.strip().str.replace(",", "", regex=False)
    missing = column.isna() | text.isin(["", "-"])
    values = pd.to_numeric(text.mask(missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        first = bad.idxmax()
        raise ParseError(f"{pages[first]}: field '{field}' is not a count: {column[first]!r}")
    return values.astype("float64")


def _years(column: pd.Series, pages: pd.Series) -> pd.Series:
    years = pd.to_numeric(column, errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    if bad.any():
        first = bad.idxmax()
        raise ParseError(f"{pages[first]}: field 'year' is not a year: {column[first]!r}")
    return years.astype("int64")


def _area_names(items: pd.DataFrame, codes: dict[str, pd.Series]) -> dict[str, str]:
    """Code → the name UNHCR gives it (``coo_name``/``coa_name``), for codes it names."""
    names: dict[str, str] = {}
    for field, code in codes.items():
        name_field = CODE_FIELDS[field]
        if name_field in items:
            pairs = pd.DataFrame({"code": code, "name": items[name_field]}).dropna().drop_duplicates("code")
            names.update(zip(pairs["code"], pairs["name"].astype(str), strict=True))
        else:
            names.update((c, c) for c in code.dropna().unique())
    return names


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    """One fact row per item × reported population type; codes outside the reference load as
    ``unmapped`` areas (the suite warns) so that totals equal UNHCR's."""
    items = _items(manifest)
    codes = {field: _codes(items[field]) for field in CODE_FIELDS} if len(items) else {}
    parts = []
    for population_type in POPULATION_TYPES:
        if population_type not in items:
            continue
        reported = items[f"has_{population_type}"].to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "origin_code": codes["coo_iso"][reported],
                    "asylum_code": codes["coa_iso"][reported],
                    "year": _years(items["year"][reported], items["page"]),
                    "population_type": population_type,
                    "persons": _counts(items[population_type][reported], items["page"], population_type),
                }
            )
        )
    columns = ["origin_code", "asylum_code", "year", "population_type", "persons"]
    fact = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)).astype(
        {"year": "int64", "persons": "float64"}
    )
    areas = (
        unmapped_areas(_area_names(items, codes), reference_area_codes())
        if codes
        else unmapped_areas({}, set())
    )
    return ParsedDataset(
        frames={"dw.dim_country": areas, "dw.fact_refugee_population": fact}, notices=_notices(items)
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    return {"known_codes": sorted(reference_area_codes()), "population_types": list(POPULATION_TYPES)}
