"""Parse a World Bank/KNOMAD bilateral remittance matrix into ``fact_published_remittance`` rows.

The published layout (2017 edition): one sheet (``Bilateral_Remittances_2017``; its name changes
with the edition) whose first row is the title ("Bilateral Remittance Estimates for 2017 using
Migrant Stocks, Host Country Incomes, and Origin Country Incomes (millions of US$) (April 2018
Version)") and whose header row starts ``receiving (across) / sending (down)`` and names the
receiving countries, then a ``WORLD`` column (each sender's total); one row per sending country
(where the migrants live), a ``WORLD`` row (each receiver's total), then notes. The sheet is found
by that header, not by its name; a workbook without it, or whose title names no year, is refused
naming what is missing.

Every cell becomes a row (zeros included), in US$: ``-`` (a corridor the publisher does not
estimate) is NULL with status ``not_estimated``, WORLD cells are ``total``; any other text is a
:class:`ParseError` naming the sheet, the cell and its row and column. Names resolve with
:func:`diaspora.countries.resolve_name` (``WORLD`` → ``M49:900``); one that does not loads as
``KNOMAD:<name>``, an unmapped area, and the suite warns. The helper columns the suite checks:
``total_gap_usd`` (on a total: the total minus the sum of its cells) and ``unresolved_name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from diaspora.countries import reference_area_codes, resolve_name, un_area_code, unmapped_areas
from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources.base import ParsedDataset, ReleaseAbout
from diaspora.sources.knomad_bilateral_remittances import SOURCE
from diaspora.sources.workbook import read_sheet

HEADER = "receiving (across) / sending (down)"
HEADER_PREFIX = "receiving (across)"
HEADER_ROWS_SEARCHED = 10  # the header is row 2 in the published workbooks
WORLD_NAME = "world"  # the total row and column ('WORLD'), compared without case
WORLD = un_area_code(900)  # dim_country key of the total counterpart, as in fact_migrant_stock
NOT_ESTIMATED = "-"
MILLION = 1_000_000.0
UNMAPPED_PREFIX = "KNOMAD"
STATUSES = ("estimated", "not_estimated", "total")
# A total may exceed the sum of its cells (an extract, or the part of a '-' corridor the publisher
# keeps in the total: Israel +1.2 m and Lebanon +0.8 m in 2017) but not fall below it by more than
# this, in US$ (0.5 m: far above the float rounding of the real workbook's sums, ~1e-5 US$).
TOTAL_TOLERANCE_USD = 500_000.0
_YEAR_FOR = re.compile(r"\bfor\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_YEAR_NAMED = re.compile(r"\b(?:matrix|estimates?|remittances?)\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_VERSION = re.compile(r"\(([^()]*?)\s*version\)", re.IGNORECASE)
_MILLIONS = re.compile(r"\bmillions?\b", re.IGNORECASE)


def normalise(cell: object) -> str:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    return re.sub(r"\s+", " ", str(cell)).strip()


def column_letters(column: int) -> str:
    """Excel's letters of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def cell_address(row: int, column: int) -> str:
    """Excel's A1 address of a 0-based (row, column)."""
    return f"{column_letters(column)}{row + 1}"


@dataclass(frozen=True)
class Edition:
    """What the title says: the year the estimates are for, the version, the title itself."""

    year: int
    version: str | None  # 'April 2018'
    title: str

    @property
    def label(self) -> str:
        return f"KNOMAD {self.year}" + (f" ({self.version} version)" if self.version else "")

    @property
    def citation(self) -> str:
        version = f" ({self.version} version)" if self.version else ""
        return (
            f"World Bank/KNOMAD, Bilateral Remittance Matrix {self.year}{version}, based on Ratha, D. and "
            "Shaw, W. (2007), South-South Migration and Remittances, World Bank Working Paper 102. "
            "CC BY 4.0."
        )


def read_edition(title: str, where: str) -> Edition:
    """The estimate year ('… for 2017 …') and version ('(April 2018 Version)') of the title;
    a title without a year, or that does not give the figures in millions of US$, is refused."""
    if not title:
        raise ParseError(f"{where}: no title above the '{HEADER}' header: the estimate year is unknown")
    without_version = _VERSION.sub(" ", title)
    found = _YEAR_FOR.search(without_version) or _YEAR_NAMED.search(without_version)
    if found is None:
        raise ParseError(
            f"{where}: the title names no year the estimates are for (expected '… for YYYY …'): {title!r}"
        )
    if not _MILLIONS.search(title):
        raise ParseError(
            f"{where}: the title does not say the figures are millions of US$ (every published edition "
            f"does; another unit would load wrong by a factor): {title!r}"
        )
    version = _VERSION.search(title)
    return Edition(int(found.group(1)), normalise(version.group(1)) if version else None, title)


def _header_row(sheet: pd.DataFrame) -> int | None:
    for position in range(min(HEADER_ROWS_SEARCHED, len(sheet))):
        first = normalise(sheet.iat[position, 0]).lower() if sheet.shape[1] else ""
        if first.startswith(HEADER_PREFIX):
            return position
    return None


def find_sheet(path: Path, engine: str = "calamine") -> tuple[str, int, Edition]:
    """(sheet name, 0-based header row, edition) of the matrix: the sheet whose header row starts
    'receiving (across)', with the title in the rows above it."""
    heads = read_sheet(path, engine, None, HEADER_ROWS_SEARCHED)
    for name, head in heads.items():
        row = _header_row(head)
        if row is not None:
            title = " ".join(c for r in range(row) for c in map(normalise, head.iloc[r]) if c)
            return str(name), row, read_edition(title, f"{path}, sheet '{name}'")
    raise ParseError(
        f"{path}: no sheet has the header '{HEADER}' (the first cell of one of its first "
        f"{HEADER_ROWS_SEARCHED} rows; sheets: {', '.join(repr(str(n)) for n in heads) or 'none'}): "
        "not a World Bank/KNOMAD bilateral remittance matrix in its published layout (senders down, "
        "receivers across)"
    )


def edition_of(path: Path, engine: str = "calamine") -> Edition:
    """The edition the matrix's title names (read without the data rows)."""
    return find_sheet(path, engine)[2]


@dataclass
class Matrix:
    """The matrix as read: names across and down (WORLD last in both), the values in millions of
    US$ (NaN for '-'), and where each came from."""

    path: Path
    sheet: str
    edition: Edition
    receivers: list[str]  # the header's names, WORLD last
    senders: list[str]  # the first column's names, WORLD last
    values: np.ndarray  # senders × receivers, millions of US$; NaN where not estimated
    not_estimated: np.ndarray  # senders × receivers, True for a '-' cell
    notes: list[str]


def _names_across(cells: list[str], where: str) -> tuple[list[int], list[str]]:
    """(columns, names) of the receivers, the WORLD column last, up to the first empty cell."""
    columns, names = [], []
    for column, name in enumerate(cells[1:], start=1):
        if not name:
            break
        columns.append(column)
        names.append(name)
    world = [i for i, name in enumerate(names) if name.lower() == WORLD_NAME]
    if len(world) != 1:
        raise ParseError(
            f"{where}: the header row must name one 'WORLD' column (each sender's total) after the "
            f"receiving countries; it names {len(world)}"
        )
    _refuse_repeated(names, "receiving country", where)
    (at,) = world
    return columns[:at] + columns[at + 1 :] + [columns[at]], names[:at] + names[at + 1 :] + [names[at]]


def _names_down(sheet: pd.DataFrame, header: int, where: str) -> tuple[list[int], list[str]]:
    """(rows, names) of the senders below the header, down to the WORLD row (last)."""
    rows, names = [], []
    for row in range(header + 1, len(sheet)):
        name = normalise(sheet.iat[row, 0])
        if name.lower() == WORLD_NAME:
            _refuse_repeated(names, "sending country", where)
            return [*rows, row], [*names, name]
        if not name or name.lower().startswith("notes"):
            break
        rows.append(row)
        names.append(name)
    last = rows[-1] + 1 if rows else header + 1
    raise ParseError(
        f"{where}: no 'WORLD' row (each receiver's total) below the sending countries, which end at "
        f"Excel row {last}"
    )


def _refuse_repeated(names: list[str], what: str, where: str) -> None:
    seen = pd.Series([n.lower() for n in names])
    repeated = sorted({names[i] for i in np.flatnonzero(seen.duplicated(keep=False).to_numpy())})
    if repeated:
        raise ParseError(f"{where}: {what} name(s) listed twice: {repeated[:5]}")


def _values(
    sheet: pd.DataFrame,
    rows: list[int],
    columns: list[int],
    senders: list[str],
    receivers: list[str],
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Millions of US$ per sender × receiver; '-' is NaN (not estimated); anything else that is
    not a number is refused, naming up to five cells."""
    block = sheet.iloc[rows, columns].to_numpy(dtype=object)
    flat = block.ravel()
    numbers = np.full(flat.shape, np.nan)
    dashes = np.zeros(flat.shape, dtype=bool)
    bad = []
    for i, cell in enumerate(flat):
        if isinstance(cell, bool):
            bad.append(i)
        elif isinstance(cell, int | float | np.integer | np.floating) and np.isfinite(cell):
            numbers[i] = float(cell)
        elif isinstance(cell, str) and cell.strip() == NOT_ESTIMATED:
            dashes[i] = True
        else:
            try:
                numbers[i] = float(str(cell).strip().replace(",", ""))
            except ValueError:
                bad.append(i)
            else:
                if not np.isfinite(numbers[i]):
                    bad.append(i)
    if bad:
        width = len(columns)
        listed = "; ".join(
            f"cell {cell_address(rows[i // width], columns[i % width])} (sending {senders[i // width]!r}, "
            f"receiving {receivers[i % width]!r}) is {flat[i]!r}"
            for i in bad[:5]
        )
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ParseError(
            f"{where}: {len(bad)} cell(s) are neither a number (millions of US$) nor '{NOT_ESTIMATED}' "
            f"(not estimated): {listed}{more}"
        )
    return numbers.reshape(block.shape), dashes.reshape(block.shape)


def read_matrix(path: Path, engine: str = "calamine") -> Matrix:
    """The matrix of the workbook at ``path``, in whichever sheet holds it."""
    sheet_name, header, edition = find_sheet(path, engine)
    where = f"{path}, sheet '{sheet_name}'"
    sheet = read_sheet(path, engine, sheet_name)
    columns, receivers = _names_across([normalise(c) for c in sheet.iloc[header]], where)
    rows, senders = _names_down(sheet, header, where)
    values, not_estimated = _values(sheet, rows, columns, senders, receivers, where)
    notes = [
        text
        for r in range(rows[-1] + 1, len(sheet))
        for text in [" ".join(c for c in map(normalise, sheet.iloc[r]) if c)]
        if text
    ]
    return Matrix(path, sheet_name, edition, receivers, senders, values, not_estimated, notes)


def _codes(names: list[str]) -> tuple[list[str], list[str | None]]:
    """(dim_country key, the name when it did not resolve) per name; WORLD (last) is M49:900."""
    codes, unresolved = [], []
    for name in names[:-1]:
        code = resolve_name(name)
        codes.append(code or f"{UNMAPPED_PREFIX}:{name}")
        unresolved.append(None if code else name)
    return [*codes, WORLD], [*unresolved, None]


def _total_gaps(values: np.ndarray) -> np.ndarray:
    """Per cell, on the totals only (the last row and column): the total minus the sum of the
    cells it totals, in US$; NaN elsewhere and where the total is not given. The corner (the
    world's total) is compared with the receivers' totals of the WORLD row."""
    gaps = np.full(values.shape, np.nan)
    cells = values[:-1, :-1]
    gaps[-1, :-1] = values[-1, :-1] - np.nansum(cells, axis=0)
    gaps[:-1, -1] = values[:-1, -1] - np.nansum(cells, axis=1)
    gaps[-1, -1] = values[-1, -1] - np.nansum(values[-1, :-1])
    return gaps * MILLION


def facts(matrix: Matrix) -> pd.DataFrame:
    """One row per cell of the matrix, WORLD row and column included."""
    receiving, receiving_unresolved = _codes(matrix.receivers)
    sending, sending_unresolved = _codes(matrix.senders)
    n_send, n_recv = matrix.values.shape
    status = np.full(matrix.values.shape, "estimated", dtype=object)
    status[matrix.not_estimated] = "not_estimated"
    status[-1, :] = "total"
    status[:, -1] = "total"
    unresolved = [
        "; ".join([f"receiving {r!r}"] * (r is not None) + [f"sending {s!r}"] * (s is not None)) or None
        for s in sending_unresolved
        for r in receiving_unresolved
    ]
    return pd.DataFrame(
        {
            "receiving_code": np.tile(np.array(receiving, dtype=object), n_send),
            "sending_code": np.repeat(np.array(sending, dtype=object), n_recv),
            "year": np.full(n_send * n_recv, matrix.edition.year, dtype="int64"),
            "remittances_usd": matrix.values.ravel() * MILLION,
            "estimate_status": status.ravel(),
            "total_gap_usd": _total_gaps(matrix.values).ravel(),
            "unresolved_name": pd.Series(unresolved, dtype=object),
        }
    )


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    landed = manifest.files[0]
    matrix = read_matrix(manifest.path_of(landed.name), settings.excel_engine)
    fact = facts(matrix)
    names = {
        f"{UNMAPPED_PREFIX}:{name}": name
        for name in (*matrix.receivers[:-1], *matrix.senders[:-1])
        if resolve_name(name) is None
    }
    return ParsedDataset(
        frames={
            "dw.dim_country": unmapped_areas(names, reference_area_codes()),
            "dw.fact_published_remittance": fact,
        },
        release=ReleaseAbout(
            label=matrix.edition.label,
            citation=matrix.edition.citation,
            licence=SOURCE.licence,
            details={
                "estimate_year": matrix.edition.year,
                "version": matrix.edition.version,
                "title": matrix.edition.title,
                "sheet": matrix.sheet,
                "receivers": len(matrix.receivers) - 1,
                "senders": len(matrix.senders) - 1,
                "not_estimated": int(matrix.not_estimated.sum()),
                "unit": "millions of US$ in the workbook, US$ in the warehouse",
                "notes": matrix.notes,
            },
        ),
    )


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    return {"negative_total_tolerance_usd": -TOTAL_TOLERANCE_USD, "statuses": list(STATUSES)}
