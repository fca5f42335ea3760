"""The REAL World Bank/KNOMAD Bilateral Remittance Matrix 2017 (April 2018 version), as published,
read from ``../shared/data/real/`` (``DIASPORA_REAL_DATA_DIR`` moves it), and copies of it that
tests change on purpose (each caller labels its copy SYNTHETIC where it changes a figure).

:func:`published_cells` reads the workbook straight with openpyxl, independently of the source's
parser, so that tests compare the parser's rows with what the file says.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from openpyxl.utils import get_column_letter

from tests.support.real_sources import REAL_DATA_DIR

KNOMAD_2017_FILE = "knomad_bilateral_remittances_2017.xlsx"
SHEET_2017 = "Bilateral_Remittances_2017"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Pinned times, so that the same cells always give the same bytes (landings are keyed by sha256).
_ZIP_TIME = (2025, 1, 15, 0, 0, 0)
_CORE_TIME = b"2025-01-15T00:00:00Z"
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)([^<]*)(</dcterms:)")
_NUMBER_CELL = re.compile(rb'(<c r="([A-Z]+[0-9]+)"(?: s="[0-9]+")? t="n"><v>)([^<]*)(</v>)')


def knomad_2017_path() -> Path:
    return REAL_DATA_DIR / KNOMAD_2017_FILE


def require_knomad_2017() -> Path:
    """The real workbook's path; skips the calling test when it is absent (fails instead with
    ``DIASPORA_REQUIRE_REAL_DATA=1``)."""
    path = knomad_2017_path()
    if path.is_file():
        return path
    import pytest

    message = f"the real KNOMAD 2017 workbook is not at {path}; set DIASPORA_REAL_DATA_DIR to its folder"
    if os.environ.get("DIASPORA_REQUIRE_REAL_DATA") == "1":
        pytest.fail(f"DIASPORA_REQUIRE_REAL_DATA=1 but {message}")
    pytest.skip(message)


def published_rows(path: Path | None = None, sheet: str = SHEET_2017) -> list[list[object]]:
    """Every row of the matrix sheet as openpyxl reads it (values, None for an empty cell)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path or knomad_2017_path(), read_only=True, data_only=True)
    try:
        return [list(row) for row in workbook[sheet].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _exact_floats(rows: list[list[object]]) -> dict[bytes, bytes]:
    """A1 address → the shortest text that reads back as exactly the same double, for each float
    of ``rows``: openpyxl writes 16 significant digits ('%.16g'), which moves some of the
    published values by an ulp."""
    exact = {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
                exact[f"{get_column_letter(c)}{r}".encode()] = repr(value).encode()
    return exact


def _exact_number(numbers: dict[bytes, bytes], match: re.Match[bytes]) -> bytes:
    return match.group(1) + numbers.get(match.group(2), match.group(3)) + match.group(4)


def pin_times(path: Path, exact: dict[str, dict[bytes, bytes]] | None = None) -> Path:
    """Rewrite an xlsx with fixed document and zip entry times (equal cells, equal bytes), and the
    numbers of ``exact`` (zip member → A1 address → text) written as given."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, content in entries:
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + _CORE_TIME + rb"\g<3>", content)
            numbers = (exact or {}).get(info.filename)
            if numbers:
                content = _NUMBER_CELL.sub(partial(_exact_number, numbers), content)
            pinned = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            pinned.compress_type, pinned.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            target.writestr(pinned, content)
    return path


def write_matrix_workbook(
    path: Path,
    rows: list[list[object]],
    sheet: str = SHEET_2017,
    extra_sheets: dict[str, list[list[object]]] | None = None,
) -> Path:
    """A workbook whose sheet ``sheet`` holds ``rows`` as given (title, header, matrix, notes)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    target = workbook.create_sheet(sheet)
    for row in rows:
        target.append(row)
    for name, other in (extra_sheets or {}).items():
        more = workbook.create_sheet(name)
        for row in other:
            more.append(row)
    workbook.save(path)
    return pin_times(path, {"xl/worksheets/sheet1.xml": _exact_floats(rows)})


def changed_copy(
    path: Path,
    change: Callable[[list[list[object]]], None],
    sheet: str = SHEET_2017,
    source: Path | None = None,
) -> Path:
    """A copy of the real 2017 matrix sheet with ``change`` applied to its rows (in place)."""
    rows = published_rows(source)
    change(rows)
    return write_matrix_workbook(path, rows, sheet)
