"""Writes workbooks in the real layout of UN DESA's International Migrant Stock, Table 1.

Title and note rows first, a row of sex labels, the header row with the year headers repeated
for both sexes, males and females, then one row per destination × origin. Used by the tests,
the offline sample builder and the benchmark; the figures they pass in say whether they are
real or synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from diaspora.sources.undesa_migrant_stock.parse import ID_COLUMNS, SEXES, YEARS

TITLE_ROWS = [
    ["United Nations"],
    ["Department of Economic and Social Affairs"],
    ["Population Division"],
    ["International Migrant Stock 2024"],
    [],
    [
        "Table 1. International migrant stock at mid-year by sex and by region, country or area of "
        "destination and origin, 1990-2024"
    ],
    [],
    [
        "Suggested citation: United Nations Department of Economic and Social Affairs, Population "
        "Division (2024). International Migrant Stock 2024."
    ],
    ["Notes: '..' indicates that data are not available."],
    [],
]


@dataclass
class Row:
    destination: tuple[int, str]
    origin: tuple[int, str]
    values: dict[tuple[str, int], float | str | None] = field(default_factory=dict)  # (sex, year)
    coverage: str | None = None
    data_type: str | None = None

    @classmethod
    def by_sex(cls, destination, origin, female: dict[int, float], male: dict[int, float], **kw) -> Row:
        """Both sexes computed as female + male; years without figures are '..'."""
        values = {}
        for year in YEARS:
            f, m = female.get(year), male.get(year)
            values[("female", year)] = f if f is not None else ".."
            values[("male", year)] = m if m is not None else ".."
            values[("both", year)] = f + m if f is not None and m is not None else ".."
        return cls(destination, origin, values, **kw)


def write_workbook(
    path: Path, rows: list[Row], header: list[str] | None = None, notes: list[list[str]] | None = None
) -> Path:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Table 1")
    for title in TITLE_ROWS:
        sheet.append(title)
    sex_labels = [None] * len(ID_COLUMNS)
    for label in ("Both sexes", "Males", "Females"):
        sex_labels += [label] + [None] * (len(YEARS) - 1)
    sheet.append(sex_labels)
    sheet.append(header or ID_COLUMNS + [year for _ in SEXES for year in YEARS])
    for index, row in enumerate(rows, start=1):
        values = [row.values.get((sex, year), "..") for sex in SEXES for year in YEARS]
        sheet.append(
            [
                index,
                row.destination[1],
                row.coverage,
                row.data_type,
                row.destination[0],
                row.origin[1],
                row.origin[0],
                *values,
            ]
        )
    if notes:
        about = workbook.create_sheet("About this file")
        for line in notes:
            about.append(line)
    workbook.save(path)
    return path
