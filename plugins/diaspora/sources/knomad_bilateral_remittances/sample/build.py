"""Rebuild the offline sample: an EXTRACT of the real World Bank/KNOMAD Bilateral Remittance Matrix
2017 (April 2018 version), in its published layout.

Run from the repository root, with the real workbook in ``../shared/data/real/`` (or
``DIASPORA_REAL_DATA_DIR``):
``.venv/bin/python plugins/diaspora/sources/knomad_bilateral_remittances/sample/build.py``. The
workbook's sha256 is pinned in SNAPSHOT.json and checked by the tests.

Every figure is REAL and unchanged: the title row, the header row, the cells of the senders and
receivers in :data:`COUNTRIES` (in the published order, the four '-' cells of India ↔ Pakistan
and Israel ↔ Lebanon kept), the WORLD row and column values of those countries (their totals over
ALL 214 countries, so the cells of the extract sum to less than its totals) and the world total,
then the published notes, one note saying this is an extract, and the ``remshare`` sheet.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]  # plugins/diaspora/sources/<key>/sample
sys.path.insert(0, str(ROOT))

from tests.support.knomad import (  # noqa: E402
    KNOMAD_2017_FILE,
    SHEET_2017,
    knomad_2017_path,
    published_rows,
    write_matrix_workbook,
)

FILE = "bilateral_remittance_matrix_2017_extract.xlsx"
COUNTRIES = (
    "Channel Islands",
    "Germany",
    "India",
    "Israel",
    "Kazakhstan",
    "Kosovo",
    "Kyrgyz Republic",
    "Lebanon",
    "Pakistan",
    "Russian Federation",
    "Tajikistan",
    "Turkey",
    "Ukraine",
    "United States",
    "Uzbekistan",
)
NOTE = (
    "Extract made by the diaspora data warehouse project from the World Bank/KNOMAD Bilateral "
    "Remittance Matrix 2017 (April 2018 version), CC BY 4.0: the cells of {n} sending and {n} "
    "receiving countries, unchanged, with their published WORLD totals (over all 214 countries) and "
    "the published world total; not the complete matrix."
)


def extract_rows(rows: list[list[object]]) -> list[list[object]]:
    """Title, header, the senders of COUNTRIES, WORLD, a blank row, the notes and the extract's note."""
    header = rows[1]
    names = [str(c).strip() if c is not None else "" for c in header]
    world_column = names.index("WORLD")
    missing = [c for c in COUNTRIES if c not in names]
    if missing:
        raise SystemExit(f"not in the workbook's header: {missing}")
    columns = [0] + [i for i, name in enumerate(names) if name in COUNTRIES] + [world_column]
    first_cells = [str(r[0]).strip() if r and r[0] is not None else "" for r in rows]
    world_row = first_cells.index("WORLD", 2)
    senders = [i for i in range(2, world_row) if first_cells[i] in COUNTRIES]
    notes = [rows[i][:1] for i in range(world_row + 1, len(rows)) if rows[i] and rows[i][0]]
    result = [rows[0][:1], [header[c] for c in columns]]
    result += [[rows[i][c] for c in columns] for i in [*senders, world_row]]
    return result + [[None], *notes, [NOTE.format(n=len(COUNTRIES))]]


def build() -> dict:
    real = knomad_2017_path()
    path = write_matrix_workbook(
        HERE / FILE,
        extract_rows(published_rows(real)),
        SHEET_2017,
        extra_sheets={"remshare": published_rows(real, "remshare")},
    )
    return {
        "name": "World Bank/KNOMAD Bilateral Remittance Matrix 2017 (April 2018 version), offline sample",
        "label": "extract of the real 2017 workbook",
        "file": FILE,
        "provenance": {
            "all figures": (
                f"REAL: {KNOMAD_2017_FILE}, the World Bank/KNOMAD Bilateral Remittance Matrix 2017 (April "
                "2018 version, sheet Bilateral_Remittances_2017), as published; cells copied unchanged"
            ),
            "countries": ", ".join(COUNTRIES),
            "WORLD row and column": "the published totals over all 214 countries (not sums of the extract)",
            "notes": "the published notes, then one note saying this is an extract made by this project",
            "url": "https://pubdocs.worldbank.org/en/705611533661084197/bilateralremittancematrix2017-Apr2018.xlsx",
        },
        "licence": "CC BY 4.0",
        "sha256": {FILE: hashlib.sha256(path.read_bytes()).hexdigest()},
    }


if __name__ == "__main__":
    manifest = build()
    (HERE / "SNAPSHOT.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {FILE} ({(HERE / FILE).stat().st_size} bytes)")
