"""Generate the SYNTHETIC sample survey files (about 2,000 households) in CSV, .sav and .dta, plus
one deliberately broken file, from a fixed random seed. Every answer is invented.

Run from the repository root: ``.venv/bin/python snapshots/surveys/build_sample.py``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
HOUSEHOLDS = 2000
REGIONS = [1, 2, 3, 4, 5]  # Dushanbe, GBAO, Sughd, Khatlon, Districts of Republican Subordination
DESTINATIONS = ["RUS", "RUS", "RUS", "RUS", "KAZ", "TUR", "ARE", "OTH"]


def households(seed: int = 2024) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for hh in range(1, HOUSEHOLDS + 1):
        abroad = int(rng.random() < 0.4)
        received = int(abroad and rng.random() < 0.85)
        rows.append(
            {
                "hh_id": hh,
                "region": rng.choice(REGIONS),
                "hh_size": rng.randint(1, 12),
                "member_abroad": abroad,
                "migrant_destination": rng.choice(DESTINATIONS) if abroad else "",
                "migrant_sex": (1 if rng.random() < 0.85 else 2) if abroad else None,
                "remittances_received": received,
                "remittances_usd": round(rng.uniform(300, 6000), 0) if received else 0.0,
                "respondent_name": f"Synthetic Person {hh}",
                "phone": f"+992 90 {hh:07d}",
                "design_weight": round(rng.uniform(0.5, 2.5), 3),
            }
        )
    return pd.DataFrame(rows)


def build() -> None:
    frame = households()
    thirds = [frame.iloc[i::3] for i in range(3)]  # three batches, one per format
    thirds[0].to_csv(HERE / "tj_lms_2024_batch1.csv", index=False)
    labels = {
        "region": {
            1: "Dushanbe",
            2: "GBAO",
            3: "Sughd",
            4: "Khatlon",
            5: "Districts of Republican Subordination",
        },
        "member_abroad": {0: "No", 1: "Yes"},
    }
    pyreadstat.write_sav(thirds[1], str(HERE / "tj_lms_2024_batch2.sav"), variable_value_labels=labels)
    pyreadstat.write_dta(thirds[2], str(HERE / "tj_lms_2024_batch3.dta"), variable_value_labels=labels)
    broken = thirds[0].head(20).assign(design_weight=0)  # deliberately broken: zero weights
    broken.to_csv(HERE / "tj_lms_2024_broken.csv", index=False)


if __name__ == "__main__":
    build()
    print("wrote the synthetic sample survey files under snapshots/surveys/")
