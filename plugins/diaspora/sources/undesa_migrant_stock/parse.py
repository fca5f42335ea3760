"""Parse the UN DESA workbook: find the header row of sheet ``Table 1`` by its content, check every
expected column (a renamed or missing one is named), turn ``..`` and empty cells into NULL, strip
footnote markers, drop the workbook's exact duplicate rows, resolve UN M49 codes (an unknown one
loads as ``M49:<code>``, kind unmapped), and melt the 24 year × sex columns into
``fact_migrant_stock`` rows, with the consistency checks as helper columns the suite checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from diaspora.countries import resolve_m49, un_area_code
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset

SHEET = "Table 1"
ID_COLUMNS = [
    "Index",
    "Region, development group, country or area of destination",
    "Coverage",
    "Data type",
    "Location code of destination",
    "Region, development group, country or area of origin",
    "Location code of origin",
]
YEARS = [1990, 1995, 2000, 2005, 2010, 2015, 2020, 2024]
SEXES = ["both", "male", "female"]  # the workbook's order of the three year blocks
WORLD = 900
NOT_AVAILABLE = {"..", "", "-", "…"}
VALUE_COLUMNS = [f"{sex}_{year}" for sex in SEXES for year in YEARS]


def _normalise(cell: object) -> str:
    return re.sub(r"\s+", " ", str(cell)).strip() if cell is not None and not pd.isna(cell) else ""


def _year(cell: object) -> int | None:
    try:
        return int(float(str(cell).strip()))
    except ValueError:
        return None


def find_header(sheet: pd.DataFrame, where: str) -> int:
    """Index of the row whose first cell is 'Index' and that names the origin code column."""
    for position, row in enumerate(sheet.itertuples(index=False)):
        cells = [_normalise(c) for c in row]
        if cells and cells[0] == "Index" and any("Location code" in c for c in cells):
            return position
    raise ParseError(f"{where}: no header row (a row starting with 'Index') in sheet '{SHEET}'")


def check_header(cells: list[str], where: str) -> None:
    """Schema drift: every expected column, in place, or an error that names it."""
    problems = []
    for position, expected in enumerate(ID_COLUMNS):
        found = cells[position] if position < len(cells) else "(no column)"
        if found != expected:
            problems.append(f"column {position + 1} should be '{expected}' but is '{found}'")
    for block, sex in enumerate(SEXES):
        for offset, expected_year in enumerate(YEARS):
            position = len(ID_COLUMNS) + block * len(YEARS) + offset
            found = cells[position] if position < len(cells) else "(no column)"
            if _year(found) != expected_year:
                problems.append(
                    f"column {position + 1} should be year {expected_year} ({sex}) but is '{found}'"
                )
    if problems:
        raise ParseError(f"{where}: the sheet '{SHEET}' changed shape: " + "; ".join(problems))


def _numbers(column: pd.Series, header: str, first_row: int, where: str) -> pd.Series:
    """Counts as floats; '..' and empty mean not available (NULL); anything else is an error."""
    text = column.astype("string").str.strip()
    missing = column.isna() | text.isin(NOT_AVAILABLE)
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        rows = [first_row + i for i in bad[bad].index[:5]]
        raise ParseError(
            f"{where}: column '{header}' has values that are not numbers at Excel rows {rows}: "
            f"{column[bad].head(5).tolist()}"
        )
    return values.astype("float64")


def read_table(path: Path, engine: str = "calamine") -> pd.DataFrame:
    """The data rows of ``Table 1`` as a wide frame with normalised column names."""
    where = str(path)
    try:
        # keep_default_na=False: only the workbook's own markers mean "not available", not "n/a" etc.
        sheet = pd.read_excel(
            path, sheet_name=SHEET, header=None, engine=engine, dtype=object, keep_default_na=False
        )
    except ValueError as exc:
        raise ParseError(f"{where}: cannot read sheet '{SHEET}': {exc}") from exc
    header = find_header(sheet, where)
    cells = [_normalise(c) for c in sheet.iloc[header]]
    check_header(cells, where)
    data = sheet.iloc[header + 1 :, : len(ID_COLUMNS) + len(VALUE_COLUMNS)].copy()
    data.columns = ID_COLUMNS + VALUE_COLUMNS
    # Rows with neither location code are blank separators or footnotes below the table.
    data = data[data[ID_COLUMNS[4]].map(_normalise).ne("") | data[ID_COLUMNS[6]].map(_normalise).ne("")]
    first_excel_row = header + 2  # 1-based, below the header
    data.index = range(len(data))
    frame = pd.DataFrame(
        {
            "destination_name": data[ID_COLUMNS[1]].map(_clean_name),
            "coverage": data[ID_COLUMNS[2]].map(_normalise).replace("", None),
            "data_type": data[ID_COLUMNS[3]].map(_normalise).replace("", None),
            "destination_m49": _codes(data[ID_COLUMNS[4]], ID_COLUMNS[4], first_excel_row, where),
            "origin_name": data[ID_COLUMNS[5]].map(_clean_name),
            "origin_m49": _codes(data[ID_COLUMNS[6]], ID_COLUMNS[6], first_excel_row, where),
        }
    )
    for column, (sex, year) in zip(VALUE_COLUMNS, [(s, y) for s in SEXES for y in YEARS], strict=True):
        frame[column] = _numbers(data[column], f"{year} ({sex})", first_excel_row, where)
    return frame


def _clean_name(cell: object) -> str:
    """Names without footnote markers ('Bonaire*' → 'Bonaire')."""
    return _normalise(cell).rstrip("*").strip()


def _codes(column: pd.Series, header: str, first_row: int, where: str) -> pd.Series:
    codes = pd.to_numeric(column, errors="coerce")
    bad = codes.isna() | (codes % 1 != 0)
    if bad.any():
        rows = [first_row + i for i in bad[bad].index[:5]]
        raise ParseError(f"{where}: column '{header}' has codes that are not integers at Excel rows {rows}")
    return codes.astype("int64")


def drop_duplicate_rows(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Exact duplicates (the workbook lists Australia/New Zealand twice) go; conflicting ones fail."""
    key = ["destination_m49", "origin_m49"]
    frame = frame.drop_duplicates(subset=key + VALUE_COLUMNS)
    conflicts = frame[frame.duplicated(subset=key, keep=False)]
    if not conflicts.empty:
        pairs = conflicts[key].drop_duplicates().head(5).to_records(index=False).tolist()
        raise ParseError(f"{where}: rows repeat a destination × origin pair with different values: {pairs}")
    return frame


def _resolve(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    pairs = frame[[f"{side}_m49", f"{side}_name"]].drop_duplicates()
    resolved = {(m49, name): resolve_m49(int(m49), name) for m49, name in pairs.itertuples(index=False)}
    locations = [resolved[(m, n)] for m, n in zip(frame[f"{side}_m49"], frame[f"{side}_name"], strict=True)]
    frame[f"{side}_code"] = [loc.code if loc else None for loc in locations]
    frame[f"{side}_area_type"] = [loc.area_type if loc else None for loc in locations]
    return frame


def _destination_total_gaps(wide: pd.DataFrame) -> pd.Series:
    """Per total row (origin World): sum over country and residual origins ÷ total − 1.

    Not computed (NaN) for a destination with an unmapped origin: whether that origin is a
    country (part of the sum) or an aggregate (not) is unknown until someone decides it.
    """
    parts = wide[wide["origin_area_type"].isin(["country", "residual"])]
    sums = parts.groupby("destination_m49")[VALUE_COLUMNS].sum(min_count=1)
    totals = wide[wide["origin_m49"] == WORLD].set_index("destination_m49")[VALUE_COLUMNS]
    gaps = (sums.reindex(totals.index) / totals.where(totals != 0)) - 1
    undecided = wide.loc[wide["origin_area_type"] == "unmapped", "destination_m49"].unique()
    gaps.loc[gaps.index.isin(undecided)] = np.nan
    return gaps  # destination_m49 × value column


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    landed = manifest.files[0]
    path = manifest.path_of(landed.name)
    wide = drop_duplicate_rows(read_table(path, settings.excel_engine), str(path))
    wide = _resolve(_resolve(wide, "origin"), "destination").reset_index(drop=True)
    wide["unresolved_location"] = _unresolved(wide)
    _load_unresolved_as_unmapped(wide)
    dims = pd.concat(
        [
            pd.DataFrame(
                {
                    "country_code": wide[f"{side}_code"],
                    "area_type": wide[f"{side}_area_type"],
                    "m49": wide[f"{side}_m49"],
                    "name": wide[f"{side}_name"],
                    "is_aggregate": False,
                }
            )
            for side in ("origin", "destination")
        ]
    )
    # Residual categories take the workbook's name; unmapped codes exist nowhere else.
    dims = dims[dims["area_type"].isin(["residual", "unmapped"])].drop_duplicates("country_code")
    return ParsedDataset(frames={"dw.dim_country": dims, "dw.fact_migrant_stock": _long_facts(wide)})


def _load_unresolved_as_unmapped(wide: pd.DataFrame) -> None:
    """A code in no reference file loads as ``M49:<code>`` of kind unmapped: the release is not
    refused and the destination totals stay whole; the suite warns with the code and its rows."""
    for side in ("origin", "destination"):
        missing = wide[f"{side}_code"].isna()
        wide.loc[missing, f"{side}_code"] = wide.loc[missing, f"{side}_m49"].map(un_area_code)
        wide.loc[missing, f"{side}_area_type"] = "unmapped"


def _unresolved(wide: pd.DataFrame) -> pd.Series:
    """'<side> <code> <name>' for locations that resolve to nothing (for the suite to name)."""
    unresolved = pd.Series(None, index=wide.index, dtype="object")
    for side in ("origin", "destination"):
        missing = wide[f"{side}_code"].isna()
        unresolved[missing] = (
            side
            + " "
            + wide.loc[missing, f"{side}_m49"].astype(str)
            + " "
            + wide.loc[missing, f"{side}_name"]
        )
    return unresolved


def _long_facts(wide: pd.DataFrame) -> pd.DataFrame:
    """One fact row per workbook row × value column, built block by block with categoricals.

    Repeated text (codes, data type, coverage) is stored once per category rather than once per
    row, which keeps a ten-times-real workbook well within memory.
    """
    gaps = _destination_total_gaps(wide)
    is_total_row = (wide["origin_m49"] == WORLD).to_numpy()
    nothing = np.full(len(wide), np.nan)
    sex_gap, total_gap = [], []
    for sex, year in ((s, y) for s in SEXES for y in YEARS):
        column = f"{sex}_{year}"
        if sex == "both":
            sex_gap.append((wide[column] - wide[f"male_{year}"] - wide[f"female_{year}"]).to_numpy())
        else:
            sex_gap.append(nothing)
        if column in gaps:
            per_destination = gaps[column].reindex(wide["destination_m49"]).to_numpy()
            total_gap.append(np.where(is_total_row, per_destination, np.nan))
        else:
            total_gap.append(nothing)

    def repeated(column: str) -> pd.Categorical:
        categorical = pd.Categorical(wide[column])
        return pd.Categorical.from_codes(
            np.tile(categorical.codes, len(VALUE_COLUMNS)), categorical.categories
        )

    return pd.DataFrame(
        {
            "origin_code": repeated("origin_code"),
            "destination_code": repeated("destination_code"),
            "year": np.tile(np.repeat(np.array(YEARS, dtype="int64"), len(wide)), len(SEXES)),
            "sex": pd.Categorical.from_codes(np.repeat(np.arange(len(SEXES)), len(YEARS) * len(wide)), SEXES),
            "migrants": np.concatenate([wide[c].to_numpy(dtype="float64") for c in VALUE_COLUMNS]),
            "data_type": repeated("data_type"),
            "coverage": repeated("coverage"),
            "sex_gap": np.concatenate(sex_gap),
            "destination_total_gap": np.concatenate(total_gap),
            "unresolved_location": repeated("unresolved_location"),
        }
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    return {
        "expected_years": YEARS,
        "total_tolerance": settings.undesa_total_tolerance,
        "negative_total_tolerance": -settings.undesa_total_tolerance,
    }
