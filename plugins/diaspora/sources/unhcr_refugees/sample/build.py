"""Rebuild the offline UNHCR sample (the API's JSON page format) and pin its sha256.

Run from the repository root: ``python3 plugins/diaspora/sources/unhcr_refugees/sample/build.py``.

REAL figures (UNHCR Refugee Population Statistics, 2024, CC BY 4.0), as given in issue #7:
people from Tajikistan: 3,945 refugees and 8,203 asylum seekers; hosted in Tajikistan: 11,033
refugees and 3,629 stateless persons. The other dimension of each row is not broken down ("-"),
as the API marks it. Counts appear both as integers and as strings, as the API sends them.
Population types without a given figure are left out of the rows (not 0). No synthetic rows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ITEMS = [
    {
        "year": 2024,
        "coo_id": 0,
        "coo_name": "Tajikistan",
        "coo": "TJK",
        "coo_iso": "TJK",
        "coa_id": 0,
        "coa_name": "-",
        "coa": "-",
        "coa_iso": "-",
        "refugees": 3945,
        "asylum_seekers": "8203",
    },
    {
        "year": 2024,
        "coo_id": 0,
        "coo_name": "-",
        "coo": "-",
        "coo_iso": "-",
        "coa_id": 0,
        "coa_name": "Tajikistan",
        "coa": "TJK",
        "coa_iso": "TJK",
        "refugees": "11033",
        "stateless": 3629,
    },
]


def build() -> dict:
    content = (json.dumps({"page": 1, "maxPages": 1, "total": {}, "items": ITEMS}, indent=1) + "\n").encode()
    (HERE / "api" / "population.json").write_bytes(content)
    return {
        "name": "UNHCR Refugee Population Statistics API, offline sample",
        "base_url": "file://<repository>/plugins/diaspora/sources/unhcr_refugees/sample/api",
        "provenance": {
            "all figures": "REAL: UNHCR, 2024, figures given in issue #7 (CC BY 4.0)",
            "omitted": "population types the issue gives no figure for are left out, not 0",
        },
        "licence": "CC BY 4.0",
        "sha256": {"population.json": hashlib.sha256(content).hexdigest()},
    }


if __name__ == "__main__":
    (HERE / "SNAPSHOT.json").write_text(json.dumps(build(), indent=2) + "\n")
    print("wrote plugins/diaspora/sources/unhcr_refugees/sample/api/population.json")
