"""The published layouts of Table 1 of UN DESA's International Migrant Stock, and what a workbook
says about itself: its edition (title rows), its reference years and sex bands (header rows).

Each edition adds a reference year and may move the identification columns: IMS 2020 has years
1990–2020 and ``Notes of destination`` / ``Type of data of destination``; IMS 2024 has 1990–2024
and ``Coverage`` / ``Data type`` before the destination code. A workbook is read when its
identification columns are those of a known layout and its three sex bands (both sexes, males,
females) carry the same strictly increasing years; anything else is refused with every
difference named. A new edition in a known layout that only adds a year needs no code change.
The test workbook writer builds its workbooks from these definitions too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from diaspora.errors import ParseError

SHEET = "Table 1"
DESTINATION = "Region, development group, country or area of destination"
ORIGIN = "Region, development group, country or area of origin"
DESTINATION_CODE = "Location code of destination"
ORIGIN_CODE = "Location code of origin"


@dataclass(frozen=True)
class Layout:
    """The identification columns of one published layout, in order, and the field each feeds
    (None: not loaded, such as the row index and footnote numbers)."""

    first_edition: str  # the edition that introduced it
    columns: tuple[tuple[str, str | None], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def position_of(self, field: str) -> int:
        return next(i for i, (_, target) in enumerate(self.columns) if target == field)


LAYOUTS = (
    Layout(
        "IMS 2020",
        (
            ("Index", None),
            (DESTINATION, "destination_name"),
            ("Notes of destination", None),
            (DESTINATION_CODE, "destination_m49"),
            ("Type of data of destination", "data_type"),
            (ORIGIN, "origin_name"),
            (ORIGIN_CODE, "origin_m49"),
        ),
    ),
    Layout(
        "IMS 2024",
        (
            ("Index", None),
            (DESTINATION, "destination_name"),
            ("Coverage", "coverage"),
            ("Data type", "data_type"),
            (DESTINATION_CODE, "destination_m49"),
            (ORIGIN, "origin_name"),
            (ORIGIN_CODE, "origin_m49"),
        ),
    ),
)
SEXES = ("both", "male", "female")  # the published order of the three bands
SEX_LABELS = {"both": "Both sexes", "male": "Males", "female": "Females"}  # as the bands name them
_SEX_PATTERNS = (("female", r"\bfemales?\b"), ("both", r"\bboth\b"), ("male", r"\bmales?\b"))
_EDITION = re.compile(r"International Migrant Stock (\d{4})", re.IGNORECASE)
_CITATION = re.compile(r"^Suggested citation:\s*(.+)$", re.IGNORECASE)
_LICENCE = re.compile(r"\bCC BY(?:-[A-Z]{2})? \d\.\d(?: IGO)?\b")
FIRST_YEAR, LAST_YEAR = 1950, 2100  # a year header outside this range is not a reference year


@dataclass(frozen=True)
class Edition:
    """What the title rows say: the edition, and its citation and licence where they state them."""

    year: int
    citation: str | None
    licence: str | None

    @property
    def label(self) -> str:
        return f"IMS {self.year}"


@dataclass(frozen=True)
class Header:
    """The header of Table 1 as read: its row, layout, reference years and the column of each
    sex band's first year (0-based)."""

    row: int
    layout: Layout
    years: tuple[int, ...]
    bands: dict[str, int]

    def value_columns(self) -> list[tuple[int, str, int]]:
        """(column, sex, year) of every count column."""
        return [
            (start + offset, sex, year)
            for sex, start in self.bands.items()
            for offset, year in enumerate(self.years)
        ]


def normalise(cell: object) -> str:
    return re.sub(r"\s+", " ", str(cell)).strip() if cell is not None and not pd.isna(cell) else ""


def as_year(cell: object) -> int | None:
    try:
        year = float(str(cell).strip())
    except ValueError:
        return None
    return int(year) if year.is_integer() and FIRST_YEAR <= year <= LAST_YEAR else None


def find_header(sheet: pd.DataFrame, where: str) -> int:
    """Index of the row whose first cell is 'Index' and that names a location code column."""
    for position, row in enumerate(sheet.itertuples(index=False)):
        cells = [normalise(c) for c in row]
        if cells and cells[0] == "Index" and any("Location code" in c for c in cells):
            return position
    raise ParseError(f"{where}: no header row (a row starting with 'Index') in sheet '{SHEET}'")


def read_edition(title_rows: list[list[str]], where: str) -> Edition:
    """The edition named in the title rows ('International Migrant Stock 2024'), with the
    suggested citation and the licence when the rows give them."""
    cells = [cell for row in title_rows for cell in row if cell]
    years = {int(m.group(1)) for cell in cells for m in [_EDITION.search(cell)] if m}
    if len(years) != 1:
        found = ", ".join(map(str, sorted(years))) or "none"
        raise ParseError(
            f"{where}: the title rows of sheet '{SHEET}' must name one edition ('International Migrant "
            f"Stock YYYY'); editions named: {found}"
        )
    citation = next((m.group(1) for cell in cells for m in [_CITATION.match(cell)] if m), None)
    licence = next((m.group(0) for cell in cells for m in [_LICENCE.search(cell)] if m), None)
    return Edition(years.pop(), citation, licence)


def _closest_layout(found: list[str]) -> Layout:
    """The known layout sharing most columns with ``found``, then most in place (the newest on a
    tie)."""

    def closeness(layout: Layout) -> tuple[int, int]:
        shared = len(set(layout.names) & set(found))
        in_place = sum(1 for i, name in enumerate(layout.names) if i < len(found) and found[i] == name)
        return shared, in_place

    return max(reversed(LAYOUTS), key=closeness)


def layout_differences(found: list[str]) -> tuple[Layout, list[str]]:
    """The closest known layout and each difference from it: a column renamed, missing, unknown
    or moved, named with its position (1-based, as Excel counts)."""
    layout = _closest_layout(found)
    expected, edition = layout.names, layout.first_edition
    missing = [name for name in expected if name not in found]
    unknown = [name for name in found if name not in expected]
    problems = []
    for position, name in enumerate(found):
        if name in unknown and position < len(expected) and expected[position] in missing:
            problems.append(f"column {position + 1} should be '{expected[position]}' but is '{name}'")
            missing.remove(expected[position])
            unknown.remove(name)
    problems += [
        f"column '{n}' (column {expected.index(n) + 1} of the {edition} layout) is missing" for n in missing
    ]
    problems += [
        f"column {found.index(n) + 1} '{n}' is not a column of the {edition} layout" for n in unknown
    ]
    in_expected_order = [name for name in expected if name in found]
    in_found_order = [name for name in found if name in expected]
    for want, got in zip(in_expected_order, in_found_order, strict=True):
        if want != got:
            problems.append(
                f"column '{got}' is column {found.index(got) + 1}; in the {edition} layout it is "
                f"column {expected.index(got) + 1}"
            )
    return layout, problems


def _band_starts(rows_above: list[list[str]], first_value: int) -> dict[str, int]:
    """Column of each sex band's label in the nearest row above the header that labels any."""
    for cells in reversed(rows_above[-3:]):
        bands: dict[str, int] = {}
        for column, cell in enumerate(cells[first_value:], start=first_value):
            sex = next((s for s, pattern in _SEX_PATTERNS if re.search(pattern, cell, re.IGNORECASE)), None)
            if sex is not None and sex not in bands:
                bands[sex] = column
        if bands:
            return bands
    return {}


def read_header(sheet: pd.DataFrame, where: str) -> Header:
    """The header of Table 1: layout, reference years, sex bands; every difference from a
    readable layout in one :class:`ParseError`."""
    row = find_header(sheet, where)
    cells = [normalise(c) for c in sheet.iloc[row]]
    while cells and not cells[-1]:
        cells.pop()
    first_value = next((i for i, c in enumerate(cells) if as_year(c) is not None), len(cells))
    layout, problems = layout_differences(cells[:first_value])
    above = [[normalise(c) for c in sheet.iloc[r]] for r in range(row)]
    bands = _band_starts(above, first_value)
    missing = [SEX_LABELS[s] for s in SEXES if s not in bands]
    if missing:
        problems.append(
            f"no sex band labelled {' or '.join(repr(m) for m in missing)} above the year columns"
            + (
                " (bands found: "
                + ", ".join(f"{SEX_LABELS[s]} at column {c + 1}" for s, c in bands.items())
                + ")"
                if bands
                else ""
            )
        )
        raise ParseError(f"{where}: sheet '{SHEET}' is not in a readable layout: " + "; ".join(problems))
    order = sorted(bands, key=bands.get)
    if order[0] != "both" or bands["both"] != first_value:
        problems.append(
            f"the first year column ({first_value + 1}) is not the start of the 'Both sexes' band"
        )
    ends = {sex: (bands[order[i + 1]] if i + 1 < len(order) else len(cells)) for i, sex in enumerate(order)}
    years = _band_years(cells, bands["both"], ends["both"], "both", problems)
    for sex in order:
        if sex != "both":
            _check_band(cells, bands[sex], ends[sex], sex, years, problems)
    if problems:
        raise ParseError(f"{where}: sheet '{SHEET}' is not in a readable layout: " + "; ".join(problems))
    return Header(row, layout, tuple(years), {sex: bands[sex] for sex in SEXES})


def _band_years(cells: list[str], start: int, end: int, sex: str, problems: list[str]) -> list[int]:
    """The reference years of the 'Both sexes' band: each a year, strictly increasing."""
    years: list[int] = []
    for column in range(start, end):
        year = as_year(cells[column])
        if year is None:
            problems.append(f"column {column + 1} should be a year ({sex}) but is '{cells[column]}'")
        elif years and year <= years[-1]:
            problems.append(f"column {column + 1}: year {year} ({sex}) is out of order after {years[-1]}")
        else:
            years.append(year)
    if not years:
        problems.append(f"the '{SEX_LABELS[sex]}' band has no year column")
    return years


def _check_band(
    cells: list[str], start: int, end: int, sex: str, years: list[int], problems: list[str]
) -> None:
    """A band of one sex carries exactly the years of the 'Both sexes' band, in the same order."""
    for offset, expected in enumerate(years):
        column = start + offset
        found = cells[column] if column < end else "(no column)"
        if as_year(found) != expected:
            problems.append(f"column {column + 1} should be year {expected} ({sex}) but is '{found}'")
    for column in range(start + len(years), end):
        problems.append(
            f"column {column + 1} '{cells[column]}' ({sex}) is a year the 'Both sexes' band lacks"
        )
