"""Parse the UN DESA workbook: read its edition from the title rows and its layout, reference
years and sex bands from the header (``layout.py``: a changed layout is refused with every
difference named), turn ``..`` and empty cells into NULL, strip footnote markers, drop the
workbook's exact duplicate rows, resolve UN M49 codes (an unknown one loads as ``M49:<code>``,
kind unmapped), and melt the year × sex columns into ``fact_migrant_stock`` rows, with the
consistency checks as helper columns the suite checks. The release label, citation and licence
come from the workbook (``IMS 2020``, ``IMS 2024``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from diaspora.countries import resolve_m49, un_area_code
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset, ReleaseAbout
from diaspora.sources.undesa_migrant_stock import SOURCE
from diaspora.sources.undesa_migrant_stock.layout import (
    SEXES,
    SHEET,
    Edition,
    Header,
    find_header,
    normalise,
    read_edition,
    read_header,
)
from diaspora.sources.workbook import read_sheet

NOT_AVAILABLE = {"..", "", "-", "…"}
WORLD = 900
TITLE_ROWS_READ = 40  # the edition is named above the header; the extract reads no further


def value_column(sex: str, year: int) -> str:
    return f"{sex}_{year}"


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


def edition_of(path: Path, engine: str = "calamine") -> Edition:
    """The edition the workbook's title rows name (read without the data rows)."""
    sheet = read_sheet(path, engine, SHEET, TITLE_ROWS_READ)
    header = find_header(sheet, str(path))
    return read_edition([[normalise(c) for c in sheet.iloc[r]] for r in range(header)], str(path))


@dataclass
class Workbook:
    """Table 1 as read: its edition, its header (layout, years, bands) and its data rows."""

    edition: Edition
    header: Header
    frame: pd.DataFrame  # one row per destination × origin: names, codes, coverage, data type, counts

    @property
    def value_columns(self) -> list[str]:
        return [value_column(sex, year) for sex in SEXES for year in self.header.years]


def read_table(path: Path, engine: str = "calamine") -> Workbook:
    """The edition, header and data rows of ``Table 1``, in whichever known layout it is."""
    where = str(path)
    sheet = read_sheet(path, engine, SHEET)
    header = read_header(sheet, where)
    edition = read_edition([[normalise(c) for c in sheet.iloc[r]] for r in range(header.row)], where)
    if edition.year != header.years[-1]:
        raise ParseError(
            f"{where}: the title names International Migrant Stock {edition.year} but the last reference "
            f"year of sheet '{SHEET}' is {header.years[-1]}"
        )
    layout = header.layout
    data = sheet.iloc[header.row + 1 :]
    column = {field: data.iloc[:, layout.position_of(field)] for _, field in layout.columns if field}
    # Rows with neither location code are blank separators or footnotes below the table.
    keep = column["destination_m49"].map(normalise).ne("") | column["origin_m49"].map(normalise).ne("")
    data = data[keep].reset_index(drop=True)
    column = {field: values[keep].reset_index(drop=True) for field, values in column.items()}
    first_excel_row = header.row + 2  # 1-based, below the header
    names = dict(layout.columns)
    code_header = {field: name for name, field in names.items()}
    frame = pd.DataFrame(
        {
            "destination_name": column["destination_name"].map(_clean_name),
            "coverage": _text(column.get("coverage"), len(data)),
            "data_type": _text(column.get("data_type"), len(data)),
            "destination_m49": _codes(
                column["destination_m49"], code_header["destination_m49"], first_excel_row, where
            ),
            "origin_name": column["origin_name"].map(_clean_name),
            "origin_m49": _codes(column["origin_m49"], code_header["origin_m49"], first_excel_row, where),
        }
    )
    for position, sex, year in header.value_columns():
        frame[value_column(sex, year)] = _numbers(
            data.iloc[:, position], f"{year} ({sex})", first_excel_row, where
        )
    return Workbook(edition, header, frame)


def _text(column: pd.Series | None, rows: int) -> pd.Series:
    """A text column of the layout; NULL where the layout has no such column."""
    if column is None:
        return pd.Series([None] * rows, dtype=object)
    return column.map(normalise).replace("", None)


def _clean_name(cell: object) -> str:
    """Names without footnote markers ('Bonaire*' → 'Bonaire')."""
    return normalise(cell).rstrip("*").strip()


def _codes(column: pd.Series, header: str, first_row: int, where: str) -> pd.Series:
    codes = pd.to_numeric(column, errors="coerce")
    bad = codes.isna() | (codes % 1 != 0)
    if bad.any():
        rows = [first_row + i for i in bad[bad].index[:5]]
        raise ParseError(f"{where}: column '{header}' has codes that are not integers at Excel rows {rows}")
    return codes.astype("int64")


def drop_duplicate_rows(frame: pd.DataFrame, value_columns: list[str], where: str) -> pd.DataFrame:
    """Exact duplicates (the workbook lists Australia/New Zealand twice) go; conflicting ones fail."""
    key = ["destination_m49", "origin_m49"]
    frame = frame.drop_duplicates(subset=key + value_columns)
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


def _destination_total_gaps(wide: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
    """Per total row (origin World): sum over country and residual origins ÷ total − 1.

    Not computed (NaN) for a destination with an unmapped origin: whether that origin is a
    country (part of the sum) or an aggregate (not) is unknown until someone decides it.
    """
    parts = wide[wide["origin_area_type"].isin(["country", "residual"])]
    sums = parts.groupby("destination_m49")[value_columns].sum(min_count=1)
    totals = wide[wide["origin_m49"] == WORLD].set_index("destination_m49")[value_columns]
    gaps = (sums.reindex(totals.index) / totals.where(totals != 0)) - 1
    undecided = wide.loc[wide["origin_area_type"] == "unmapped", "destination_m49"].unique()
    gaps.loc[gaps.index.isin(undecided)] = np.nan
    return gaps  # destination_m49 × value column


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    landed = manifest.files[0]
    path = manifest.path_of(landed.name)
    workbook = read_table(path, settings.excel_engine)
    wide = drop_duplicate_rows(workbook.frame, workbook.value_columns, str(path))
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
    return ParsedDataset(
        frames={
            "dw.dim_country": dims,
            "dw.fact_migrant_stock": _long_facts(wide, list(workbook.header.years)),
        },
        release=_release_about(workbook),
    )


def _release_about(workbook: Workbook) -> ReleaseAbout:
    """The edition as the workbook names it, with its own citation and licence (the source's
    wording for that edition where the title rows state none)."""
    edition = workbook.edition
    return ReleaseAbout(
        label=edition.label,
        citation=edition.citation or default_citation(edition.year),
        licence=edition.licence or SOURCE.licence,
        details={
            "edition": edition.year,
            "reference_years": list(workbook.header.years),
            "layout": workbook.header.layout.first_edition,
        },
    )


def default_citation(edition: int) -> str:
    return (
        "United Nations Department of Economic and Social Affairs, Population Division "
        f"({edition}). International Migrant Stock {edition}."
    )


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


def _long_facts(wide: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """One fact row per workbook row × value column, built block by block with categoricals.

    Repeated text (codes, data type, coverage) is stored once per category rather than once per
    row, which keeps a ten-times-real workbook well within memory.
    """
    value_columns = [value_column(sex, year) for sex in SEXES for year in years]
    gaps = _destination_total_gaps(wide, value_columns)
    is_total_row = (wide["origin_m49"] == WORLD).to_numpy()
    nothing = np.full(len(wide), np.nan)
    sex_gap, total_gap = [], []
    for sex, year in ((s, y) for s in SEXES for y in years):
        column = value_column(sex, year)
        if sex == "both":
            male, female = wide[value_column("male", year)], wide[value_column("female", year)]
            sex_gap.append((wide[column] - male - female).to_numpy())
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
            np.tile(categorical.codes, len(value_columns)), categorical.categories
        )

    return pd.DataFrame(
        {
            "origin_code": repeated("origin_code"),
            "destination_code": repeated("destination_code"),
            "year": np.tile(np.repeat(np.array(years, dtype="int64"), len(wide)), len(SEXES)),
            "sex": pd.Categorical.from_codes(np.repeat(np.arange(len(SEXES)), len(years) * len(wide)), SEXES),
            "migrants": np.concatenate([wide[c].to_numpy(dtype="float64") for c in value_columns]),
            "data_type": repeated("data_type"),
            "coverage": repeated("coverage"),
            "sex_gap": np.concatenate(sex_gap),
            "destination_total_gap": np.concatenate(total_gap),
            "unresolved_location": repeated("unresolved_location"),
        }
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    return {
        "expected_years": (parsed.release.details if parsed.release else {}).get("reference_years", []),
        "total_tolerance": settings.undesa_total_tolerance,
        "negative_total_tolerance": -settings.undesa_total_tolerance,
    }
