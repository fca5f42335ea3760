"""Rebuild the offline UN DESA International Migrant Stock sample workbook (real layout).

Run from the repository root:
``.venv/bin/python plugins/diaspora/sources/undesa_migrant_stock/sample/build.py``. The
workbook's sha256 is pinned in SNAPSHOT.json and checked by the tests.

Every figure is REAL: UN DESA, International Migrant Stock 2024, emigrants born in Tajikistan
at mid-2024 by country of destination (female, male), and all Tajikistan-born emigrants by year
(female, male), as given in the project's issue #3. "Both sexes" is female + male. Years and
destinations without figures are '..' (not available), as in the real workbook. Coverage and
data type are left empty: the issue does not give them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]  # plugins/diaspora/sources/<key>/sample
sys.path.insert(0, str(ROOT))

from diaspora.countries import country_table  # noqa: E402
from tests.support.ims_workbook import Row, write_workbook  # noqa: E402

FILE = "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
SOURCE = "REAL: UN DESA, International Migrant Stock 2024 (CC BY 3.0 IGO), figures given in issue #3"

# Emigrants born in Tajikistan, mid-2024, by destination: (female, male).
TAJIKISTAN_2024 = {
    "RUS": (169322, 246354),
    "UKR": (15222, 15034),
    "KAZ": (14064, 13858),
    "TUR": (5893, 5448),
    "UZB": (5345, 5994),
    "BLR": (2700, 2830),
    "AFG": (1830, 1181),
    "KGZ": (1086, 1015),
    "ISR": (982, 779),
    "TKM": (728, 728),
    "LBY": (160, 604),
    "CHN": (346, 305),
    "LVA": (253, 267),
    "LTU": (194, 186),
    "EST": (195, 185),
    "AUS": (152, 89),
    "BGR": (141, 91),
    "MDA": (75, 102),
    "GEO": (94, 58),
    "AZE": (88, 50),
    "NOR": (78, 57),
    "GRC": (67, 36),
    "FIN": (29, 45),
    "DNK": (32, 25),
    "LUX": (19, 6),
    "HUN": (6, 14),
    "SVK": (7, 7),
    "SVN": (7, 5),
    "CYP": (1, 5),
    "ISL": (3, 0),
    "BOL": (1, 0),
}
# All Tajikistan-born emigrants by year: (female, male).
TAJIKISTAN_TOTAL = {
    1990: (280096, 272764),
    1995: (270397, 295604),
    2000: (241702, 300706),
    2005: (251159, 323178),
    2010: (233107, 322107),
    2015: (227175, 309323),
    2020: (219485, 298494),
    2024: (219120, 295358),
}


def rows() -> list[Row]:
    table = country_table().set_index("country_code")
    tajikistan = (int(table.loc["TJK", "m49"]), "Tajikistan")
    result = [
        Row.by_sex(
            (900, "World"),
            tajikistan,
            {y: f for y, (f, _) in TAJIKISTAN_TOTAL.items()},
            {y: m for y, (_, m) in TAJIKISTAN_TOTAL.items()},
        )
    ]
    for iso3, (female, male) in TAJIKISTAN_2024.items():
        destination = (int(table.loc[iso3, "m49"]), str(table.loc[iso3, "name"]))
        result.append(Row.by_sex(destination, tajikistan, {2024: female}, {2024: male}))
    return result


def build() -> dict:
    path = write_workbook(
        HERE / FILE, rows(), notes=[[SOURCE], ["Rows: World and 31 destinations × origin Tajikistan."]]
    )
    return {
        "name": "UN DESA International Migrant Stock 2024, offline sample (Table 1 layout)",
        "file": FILE,
        "provenance": {
            "all figures": SOURCE,
            "both sexes": "female + male",
            "coverage, data type": "empty: not given in the issue",
        },
        "licence": "CC BY 3.0 IGO",
        "sha256": {FILE: hashlib.sha256(path.read_bytes()).hexdigest()},
    }


if __name__ == "__main__":
    manifest = build()
    (HERE / "SNAPSHOT.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {FILE} ({(HERE / FILE).stat().st_size} bytes)")
