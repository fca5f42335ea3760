"""How close the corridor model comes to the World Bank/KNOMAD published matrix, on the REAL data.

Per engine, two warehouses, each read back from ``reporting.published_remittance_accuracy`` and
``reporting.published_remittance_comparison`` (nothing computed outside the database):

- ``today``: the World Bank indicators and UN DESA's IMS 2024 of every country, served in their
  published formats by a local HTTP server and loaded by the pipeline, against the published 2017
  matrix (its workbook, also served): the model's 2017 estimates rest on IMS 2024 stocks
  interpolated between 2015 and 2020 and on today's WDI inflows;
- ``world_bank_inputs``: the published 2017 matrix against the model fed the World Bank's own 2017
  inputs (its Bilateral Migration Matrix 2017, the WDI 2017 inflows and GDP per head in PPP), which
  shows how well the rule itself reproduces the publisher's allocation.

    .venv/bin/python bench/corridor_accuracy.py                  # both engines
    .venv/bin/python bench/corridor_accuracy.py --engines duckdb
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
sys.path.insert(0, str(harness.ROOT / "plugins"))

from tests.support.real_sources import REAL_DATA_DIR, RealSourcesServer, real_data_available  # noqa: E402

RESULTS = harness.ROOT / "bench" / "results" / "corridor_accuracy.json"
MIGRATION = REAL_DATA_DIR / "knomad_bilateral_migration_2017.xlsx"
YEAR = 2017
# Corridors worth naming in the report: (receiving, sending).
CORRIDORS = (("TJK", "RUS"), ("TJK", "KAZ"), ("KGZ", "RUS"), ("MEX", "USA"), ("IND", "ARE"), ("IND", "PAK"))


def settings_for(url: str, workdir: Path, server: RealSourcesServer | None):  # noqa: ANN201 - Settings
    from diaspora.settings import Settings

    urls = {"knomad_matrix_url": f"file://{REAL_DATA_DIR / 'knomad_bilateral_remittances_2017.xlsx'}"}
    if server is not None:
        urls |= {
            "worldbank_base_url": server.worldbank_base_url,
            "undesa_ims_url": server.undesa_ims_url,
            "knomad_matrix_url": server.knomad_matrix_url,
        }
    return Settings(warehouse_url=url, data_dir=workdir / "data", notify_on_success=False, **urls)


def read_back(url: str) -> dict:
    from diaspora.warehouse.engine import get_engine

    with get_engine(url).connect() as conn:
        summary = [
            dict(row._mapping)
            for row in conn.exec_driver_sql(
                "SELECT published_release, method, corridors_published, corridors_compared,"
                " median_abs_difference_pp, p90_abs_difference_pp, within_5pp_pct"
                f" FROM reporting.published_remittance_accuracy WHERE year = {YEAR} ORDER BY method"
            )
        ]
        corridors = [
            dict(row._mapping)
            for row in conn.exec_driver_sql(
                "SELECT origin_code, destination_code, method, published_status, published_share_pct,"
                " model_status, model_share_pct FROM reporting.published_remittance_comparison"
                f" WHERE year = {YEAR} ORDER BY origin_code, destination_code, method"
            )
            if (row.origin_code, row.destination_code) in CORRIDORS
        ]
        stock_basis = (
            conn.exec_driver_sql(
                "SELECT DISTINCT stock_basis FROM reporting.published_remittance_comparison"
                f" WHERE year = {YEAR} AND stock_basis IS NOT NULL"
            )
            .scalars()
            .all()
        )
    return {"summary": summary, "corridors": corridors, "stock_basis": stock_basis}


def today(url: str, workdir: Path, server: RealSourcesServer) -> dict:
    from diaspora import pipeline

    settings = settings_for(url, workdir, server)
    started = time.perf_counter()
    for source in ("worldbank_indicators", "undesa_migrant_stock", "knomad_bilateral_remittances"):
        pipeline.run_source(source, settings)
    return {"seconds": round(time.perf_counter() - started, 1), **read_back(url)}


def world_bank_inputs(url: str, workdir: Path) -> dict:
    from diaspora import pipeline
    from diaspora.warehouse.engine import get_engine
    from tests.support.corridor_model import matrix_stock, write_model_inputs
    from tests.support.real_sources import load_real

    settings = settings_for(url, workdir, None)
    started = time.perf_counter()
    pipeline.run_source("knomad_bilateral_remittances", settings)
    wdi = load_real().wdi
    wdi = wdi[(wdi["year"] == YEAR) & wdi["indicator"].isin(["BX.TRF.PWKR.CD.DT", "NY.GDP.PCAP.PP.KD"])]
    with get_engine(url).begin() as conn:
        write_model_inputs(
            conn, matrix_stock(MIGRATION), wdi.astype({"value": "float64"}), YEAR, (9101, 9102)
        )
    return {"seconds": round(time.perf_counter() - started, 1), **read_back(url)}


def print_report(results: dict) -> None:
    for engine, runs in results["engines"].items():
        for name, run in runs.items():
            print(f"\n{engine} / {name} ({run['seconds']} s; model stock: {', '.join(run['stock_basis'])})")
            print(f"  {'method':<18}{'corridors':>10}{'median pp':>11}{'p90 pp':>9}{'within 5 pp':>13}")
            for row in run["summary"]:
                median, p90 = row["median_abs_difference_pp"], row["p90_abs_difference_pp"]
                print(
                    f"  {row['method']:<18}{row['corridors_compared']:>10}{median:>11.2f}{p90:>9.2f}"
                    f"{row['within_5pp_pct']:>12.1f}%"
                )
            for row in run["corridors"]:
                model = "—" if row["model_share_pct"] is None else f"{row['model_share_pct']:.1f} %"
                published = (
                    "—" if row["published_share_pct"] is None else f"{row['published_share_pct']:.1f} %"
                )
                print(
                    f"  {row['origin_code']} ← {row['destination_code']} {row['method']:<17} model {model:>8}"
                    f" ({row['model_status']}), published {published:>8} ({row['published_status']})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--engines", nargs="+", default=["duckdb", "postgresql"], choices=["duckdb", "postgresql"]
    )
    args = parser.parse_args()
    if not real_data_available() or not MIGRATION.is_file():
        sys.exit(f"the real data is not in {REAL_DATA_DIR}: set DIASPORA_REAL_DATA_DIR")
    results = {"machine": harness.machine(), "year": YEAR, "engines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "server").mkdir()
        with RealSourcesServer(Path(tmp) / "server") as server:
            results["engines"] = {engine: bench_engine(engine, Path(tmp), server) for engine in args.engines}
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report(results)
    print(f"\nwritten to {RESULTS.relative_to(harness.ROOT)}")


def bench_engine(engine: str, tmp: Path, server: RealSourcesServer) -> dict:
    runs = {}
    for name in ("today", "world_bank_inputs"):
        workdir = tmp / f"{engine}-{name}"
        workdir.mkdir()
        url, drop = harness.warehouse(engine, workdir, name)
        harness.progress().start(f"{engine} {name}")
        try:
            runs[name] = today(url, workdir, server) if name == "today" else world_bank_inputs(url, workdir)
        finally:
            if drop:
                drop()
        harness.progress().done()
    return runs


if __name__ == "__main__":
    main()
