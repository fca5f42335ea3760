"""Benchmark: a full-size UN DESA migrant stock workbook through extract, parse, validate, load.

Builds workbooks in the real Table 1 layout with SYNTHETIC, internally consistent figures:
scale 1 has about 9,600 country-to-country pairs plus aggregate, residual and total rows (the
real order), scale 10 about ten times as many rows. Each step runs in its own process
(bench/harness.py). The parse step is also timed with openpyxl to compare Excel engines.

    .venv/bin/python bench/undesa_pipeline.py                 # scales 1 and 10, both engines
    .venv/bin/python bench/undesa_pipeline.py --scales 1 --engines duckdb
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import harness  # noqa: E402 - bench/ is the script's folder

sys.path.insert(0, str(harness.ROOT))

from diaspora.countries import country_table, un_areas  # noqa: E402
from diaspora.sources.undesa import YEARS  # noqa: E402
from tests.ims_workbook import Row, write_workbook  # noqa: E402

RESULTS = harness.ROOT / "bench" / "results" / "undesa_pipeline.json"
ORIGINS_PER_DESTINATION = {1: 40, 10: 330}  # 10: every country and aggregate as an origin, ~9.5k rows × 10


def build_rows(scale: int) -> list[Row]:
    countries = country_table().dropna(subset=["m49"])
    country_locations = [(int(m), n) for m, n in zip(countries["m49"], countries["name"], strict=True)]
    areas = un_areas()
    aggregates = [
        (int(m), n)
        for m, n, t in zip(areas["m49"], areas["name"], areas["area_type"], strict=True)
        if t == "aggregate" and m != 900
    ]
    destinations = country_locations[:240] + aggregates
    origin_pool = country_locations + aggregates
    per_destination = min(ORIGINS_PER_DESTINATION[scale], len(origin_pool))
    rows = []
    for d, destination in enumerate(destinations):
        total_f = dict.fromkeys(YEARS, 0.0)
        total_m = dict.fromkeys(YEARS, 0.0)
        block = []
        for o in range(per_destination):
            origin = origin_pool[(d * 7 + o) % len(origin_pool)]
            if origin[0] == destination[0]:
                continue
            female = {y: float((d + 3) * (o + 1) % 9973 + i) for i, y in enumerate(YEARS)}
            male = {y: float((d + 5) * (o + 2) % 9967 + i) for i, y in enumerate(YEARS)}
            block.append(Row.by_sex(destination, origin, female, male, coverage="Both sexes", data_type="B"))
            if origin not in aggregates:  # a destination's total counts countries and residuals
                for y in YEARS:
                    total_f[y] += female[y]
                    total_m[y] += male[y]
        other_f = {y: 11.0 for y in YEARS}
        other_m = {y: 13.0 for y in YEARS}
        block.append(
            Row.by_sex(destination, (2003, "Other"), other_f, other_m, coverage="Both sexes", data_type="B")
        )
        for y in YEARS:
            total_f[y] += other_f[y]
            total_m[y] += other_m[y]
        rows.append(
            Row.by_sex(destination, (900, "World"), total_f, total_m, coverage="Both sexes", data_type="B")
        )
        rows += block
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 10], choices=[1, 10])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    args = parser.parse_args()
    results = {"machine": harness.machine(), "scales": []}
    with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as workdir:
        for scale in args.scales:
            started = time.perf_counter()
            rows = build_rows(scale)
            folder = Path(workdir) / f"scale{scale}"
            folder.mkdir()
            path = write_workbook(
                folder / "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx", rows
            )
            built = time.perf_counter() - started
            source_env = {"DIASPORA_UNDESA_IMS_URL": f"file://{path}"}
            runs = [
                harness.bench_engine("undesa_migrant_stock", engine, source_env, folder)
                for engine in args.engines
            ]
            # The same parse with openpyxl, on the same landed file, to compare Excel engines.
            rerun = runs[0]["rerun"]
            openpyxl_parse = harness.child(
                "undesa_migrant_stock",
                "parse",
                {**rerun["env"], "DIASPORA_EXCEL_ENGINE": "openpyxl"},
                rerun["landing_dir"],
            )
            openpyxl_parse.pop("landing_dir", None)
            for run in runs:
                run.pop("rerun")
            results["scales"].append(
                {
                    "scale": scale,
                    "workbook_rows": len(rows),
                    "fact_rows": len(rows) * 24,
                    "workbook_mb": path.stat().st_size / 1e6,
                    "build_seconds": built,
                    "runs": runs,
                    "parse_openpyxl": openpyxl_parse,
                }
            )
            size_mb = path.stat().st_size / 1e6
            print(
                f"scale {scale}: {len(rows):,} rows, {len(rows) * 24:,} facts, {size_mb:.1f} MB", flush=True
            )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for entry in results["scales"]:
        calamine = entry["runs"][0]["steps"]["parse"]
        print(
            f"\nScale {entry['scale']}: {entry['workbook_rows']:,} workbook rows, "
            f"{entry['fact_rows']:,} fact rows, {entry['workbook_mb']:.1f} MB\n"
        )
        print(harness.markdown(entry["runs"]))
        openpyxl = entry["parse_openpyxl"]
        print(
            f"\nparse with calamine {calamine['seconds']:.2f} s / {calamine['peak_rss_mb']:.0f} MB; "
            f"with openpyxl {openpyxl['seconds']:.2f} s / {openpyxl['peak_rss_mb']:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
