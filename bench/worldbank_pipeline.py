"""Benchmark: a full-size World Bank pull through extract, parse, validate and load.

All countries × the configured indicators × 1990–2025, served in the API's real format by a
local HTTP server (SYNTHETIC values and country codes, real page structure). Each step runs in
its own Python process so that its wall time and peak memory are its own; imports are done
before the clock starts and reported as the process's baseline RSS.

The load throughput is compared with a raw bulk insert of the same fact rows into a scratch
table of the same database in the same run (the same bulk path, without staging, merge,
release and audit).

    .venv/bin/python bench/worldbank_pipeline.py            # DuckDB and PostgreSQL
    .venv/bin/python bench/worldbank_pipeline.py --engines duckdb
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import harness  # noqa: E402 - bench/ is the script's folder

ROOT = harness.ROOT
RESULTS = ROOT / "bench" / "results" / "worldbank_pipeline.json"
YEARS = range(1990, 2026)
N_COUNTRIES, N_AGGREGATES = 217, 49  # the API's /country lists about 217 economies + 49 aggregates


# --- the synthetic API -----------------------------------------------------------------------


def _codes(n: int, offset: int = 0) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [
        letters[(i // 676) % 26] + letters[(i // 26) % 26] + letters[i % 26]
        for i in range(offset, offset + n)
    ]


def build_payload_rows(indicators: list[dict]) -> dict[str, list[dict]]:
    countries = _codes(N_COUNTRIES)
    aggregates = _codes(N_AGGREGATES, offset=N_COUNTRIES)
    region = {"id": "ECS", "iso2code": "Z7", "value": "Europe & Central Asia"}
    agg = {"id": "NA", "iso2code": "NA", "value": "Aggregates"}
    income = {"id": "LMC", "iso2code": "XN", "value": "Lower middle income"}
    meta_rows = [
        {"id": c, "iso2Code": c[:2], "name": f"Synthetic {c}", "region": region, "incomeLevel": income}
        for c in countries
    ] + [
        {"id": c, "iso2Code": c[:2], "name": f"Aggregate {c}", "region": agg, "incomeLevel": agg}
        for c in aggregates
    ]
    rows = {"country": meta_rows}
    for n, indicator in enumerate(indicators):
        code = indicator["code"]
        values = []
        for i, country in enumerate(countries + aggregates):
            for year in YEARS:
                if (i + year + n) % 11 == 0:
                    value = None
                elif indicator.get("percentage"):
                    value = round((i * 7 + year) % 97 + 0.5, 3)
                else:
                    value = float((i + 1) * (year - 1980) * 1000 - (n * 500))
                values.append(
                    {
                        "indicator": {"id": code, "value": indicator["name"]},
                        "country": {"id": country[:2], "value": f"Synthetic {country}"},
                        "countryiso3code": country,
                        "date": str(year),
                        "value": value,
                        "unit": "",
                        "obs_status": "",
                        "decimal": 0,
                    }
                )
        rows[f"indicator/{code}"] = values
    return rows


def serve(rows: dict[str, list[dict]]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path.removeprefix("/v2/")
            key = "country" if path == "country" else path.replace("country/all/", "")
            data = rows.get(key)
            if data is None:
                self.send_error(404)
                return
            per_page, page = int(query["per_page"][0]), int(query["page"][0])
            meta = {
                "page": page,
                "pages": math.ceil(len(data) / per_page),
                "per_page": per_page,
                "total": len(data),
                "sourceid": "2",
                "lastupdated": "2025-07-01",
            }
            body = json.dumps([meta, data[(page - 1) * per_page : page * per_page]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the benchmark's output readable
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v2"


def markdown(results: dict) -> str:
    header = (
        f"Full-size pull: {results['fact_rows']:,} fact rows ({results['countries']} countries and"
        f" aggregates × {results['indicators']} indicators × {results['years']} years),"
        f" {results['payload_mb']:.1f} MB of JSON in {results['pages']} pages. Machine: {results['machine']}."
    )
    return header + "\n\n" + harness.markdown(results["runs"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgresql"])
    args = parser.parse_args()

    import yaml

    indicators = yaml.safe_load((ROOT / "config" / "worldbank_indicators.yml").read_text())["indicators"]
    rows = build_payload_rows(indicators)
    server, base_url = serve(rows)
    fact_rows = sum(len(v) for k, v in rows.items() if k != "country")
    try:
        with tempfile.TemporaryDirectory(prefix="diaspora-bench-") as workdir:
            source_env = {"DIASPORA_WORLDBANK_BASE_URL": base_url, "DIASPORA_WORLDBANK_PER_PAGE": "1000"}
            runs = [
                harness.bench_engine("worldbank_indicators", engine, source_env, Path(workdir))
                for engine in args.engines
            ]
    finally:
        server.shutdown()
    for run in runs:
        run.pop("rerun")
    results = {
        "fact_rows": fact_rows,
        "countries": N_COUNTRIES + N_AGGREGATES,
        "indicators": len(indicators),
        "years": len(YEARS),
        "pages": sum(math.ceil(len(v) / 1000) for v in rows.values()),
        "payload_mb": sum(len(json.dumps(v)) for v in rows.values()) / 1e6,
        "machine": harness.machine(),
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
