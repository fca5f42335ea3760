"""Writes workbooks in the published layouts of UN DESA's International Migrant Stock, Table 1.

Title and note rows first (they name the edition, its citation and licence), a row of sex band
labels, the header row (the edition's identification columns, then its reference years repeated
for both sexes, males and females), then one row per destination × origin. The layouts are the
parser's own definitions (``layout.LAYOUTS``): IMS 2020 (``Notes of destination``, ``Type of data
of destination``) and IMS 2024 (``Coverage``, ``Data type``). The title and band wording is this
writer's rendering of the published rows, not a copy. Used by the tests, the offline sample builder
and the benchmark; the figures they pass in say whether they are real or synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from diaspora.sources.undesa_migrant_stock.layout import LAYOUTS, SEX_LABELS, SEXES, Layout

IMS_2020_YEARS = (1990, 1995, 2000, 2005, 2010, 2015, 2020)
IMS_2024_YEARS = (*IMS_2020_YEARS, 2024)
YEARS = IMS_2024_YEARS  # the default edition's


@dataclass(frozen=True)
class Edition:
    """What a written workbook is: its edition, layout and reference years."""

    year: int
    years: tuple[int, ...]
    layout: Layout
    band_labels: dict[str, str] = field(default_factory=lambda: dict(SEX_LABELS))  # over each band

    @property
    def header(self) -> list[object]:
        return [*self.layout.names, *[year for _ in SEXES for year in self.years]]


IMS_2020 = Edition(
    2020,
    IMS_2020_YEARS,
    LAYOUTS[0],
    {sex: f"International migrant stock at mid-year ({label.lower()})" for sex, label in SEX_LABELS.items()},
)
IMS_2024 = Edition(2024, IMS_2024_YEARS, LAYOUTS[1])


def title_rows(edition: Edition) -> list[list[str]]:
    year, years = edition.year, edition.years
    return [
        ["United Nations"],
        ["Department of Economic and Social Affairs"],
        ["Population Division"],
        [f"International Migrant Stock {year}"],
        [],
        [
            "Table 1. International migrant stock at mid-year by sex and by region, country or area of "
            f"destination and origin, {years[0]}-{years[-1]}"
        ],
        [
            "Suggested citation: United Nations Department of Economic and Social Affairs, Population "
            f"Division ({year}). International Migrant Stock {year}."
        ],
        [f"© {year} United Nations, made available under a Creative Commons license CC BY 3.0 IGO"],
        ["Notes: '..' indicates that data are not available."],
    ]


@dataclass
class Row:
    destination: tuple[int, str]
    origin: tuple[int, str]
    values: dict[tuple[str, int], float | str | None] = field(default_factory=dict)  # (sex, year)
    coverage: str | None = None
    data_type: str | None = None
    notes: str | None = None

    @classmethod
    def by_sex(
        cls, destination, origin, female: dict[int, float], male: dict[int, float], years=YEARS, **kw
    ) -> Row:
        """Both sexes computed as female + male; years without figures are '..'."""
        values = {}
        for year in years:
            f, m = female.get(year), male.get(year)
            values[("female", year)] = f if f is not None else ".."
            values[("male", year)] = m if m is not None else ".."
            values[("both", year)] = f + m if f is not None and m is not None else ".."
        return cls(destination, origin, values, **kw)

    def cells(self, index: int, edition: Edition) -> list[object]:
        by_field = {
            "destination_name": self.destination[1],
            "destination_m49": self.destination[0],
            "origin_name": self.origin[1],
            "origin_m49": self.origin[0],
            "coverage": self.coverage,
            "data_type": self.data_type,
        }
        identification = [
            index if name == "Index" else self.notes if target is None else by_field[target]
            for name, target in edition.layout.columns
        ]
        return [*identification, *[self.values.get((sex, y), "..") for sex in SEXES for y in edition.years]]


def band_row(edition: Edition, sexes: tuple[str, ...] = SEXES) -> list[str | None]:
    """The row above the header: each band's label over its first year."""
    cells: list[str | None] = [None] * len(edition.layout.names)
    for sex in SEXES:
        cells += [edition.band_labels[sex] if sex in sexes else None] + [None] * (len(edition.years) - 1)
    return cells


def write_workbook(
    path: Path,
    rows: list[Row],
    header: list[object] | None = None,
    notes: list[list[str]] | None = None,
    edition: Edition = IMS_2024,
    bands: list[str | None] | None = None,
    titles: list[list[str]] | None = None,
) -> Path:
    """Table 1 of ``edition`` with ``rows``; ``header``, ``bands`` and ``titles`` replace the
    edition's own rows (to write a workbook whose layout changed)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Table 1")
    for title in titles if titles is not None else title_rows(edition):
        sheet.append(title)
    sheet.append(bands if bands is not None else band_row(edition))
    sheet.append(header or edition.header)
    for index, row in enumerate(rows, start=1):
        sheet.append(row.cells(index, edition))
    if notes:
        about = workbook.create_sheet("About this file")
        for line in notes:
            about.append(line)
    workbook.save(path)
    return path
