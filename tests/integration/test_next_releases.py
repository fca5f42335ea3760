"""The next release of a source arrives without a code change, on real DuckDB and real PostgreSQL,
from real local HTTP servers speaking each API's format: the World Bank takes a new indicator added
to its configuration, a new year and a new economy (all three appear in the diff as added values);
UNHCR takes a new year and a field it does not know (kept in the landing, named in a warning, not
loaded, not refused). Every figure here is SYNTHETIC.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from diaspora import pipeline
from diaspora.landing import Manifest
from tests.integration.test_unhcr_and_registry import serve as serve_unhcr
from tests.integration.test_unhcr_and_registry import synthetic_items
from tests.support import ROOT
from tests.support.sql import rows
from tests.support.worldbank_api import COUNTRIES, ECS, UMC, FakeWorldBank, synthetic_values

REMITTANCES, POPULATION, GDP = "BX.TRF.PWKR.CD.DT", "SP.POP.TOTL", "NY.GDP.MKTP.CD"
KOSOVO = {"id": "XKX", "iso2Code": "XK", "name": "Kosovo", "region": ECS, "incomeLevel": UMC}


def indicator_file(folder: Path, codes: list[str]) -> Path:
    """The project's indicator configuration with only ``codes`` (their entries unchanged)."""
    config = yaml.safe_load((ROOT / "config" / "worldbank_indicators.yml").read_text())
    config["indicators"] = [entry for entry in config["indicators"] if entry["code"] in codes]
    path = folder / f"indicators_{len(codes)}.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def kosovo_rows(codes: list[str], years: range) -> dict[str, list[dict]]:
    """SYNTHETIC values of an economy the first release did not list."""
    return {
        code: [
            {
                "indicator": {"id": code, "value": f"name of {code}"},
                "country": {"id": "XK", "value": "Kosovo"},
                "countryiso3code": "XKX",
                "date": str(year),
                "value": 1000.0 * (year - 2000),
                "unit": "",
                "obs_status": "",
                "decimal": 0,
            }
            for year in years
        ]
        for code in codes
    }


def test_a_new_indicator_year_and_economy_arrive_as_added_values(
    httpserver, make_settings, warehouse_url, tmp_path, alert_webhook
):
    def release(codes: list[str], years: range, lastupdated: str, countries: list[dict], extra=None):
        values = synthetic_values(codes, years)
        for code, added in (extra or {}).items():
            values[code] = values[code] + added
        httpserver.clear_all_handlers()
        api = FakeWorldBank(countries=countries, values=values, lastupdated=lastupdated)
        settings = make_settings(
            worldbank_base_url=api.install(httpserver),
            worldbank_indicators_file=indicator_file(tmp_path, codes),
            warehouse_url=warehouse_url,
            alert_webhook_url=alert_webhook.url,
        )
        return pipeline.run_source("worldbank_indicators", settings)

    first = release([REMITTANCES, POPULATION], range(2019, 2023), "2025-07-01", COUNTRIES)
    codes = [REMITTANCES, POPULATION, GDP]  # GDP added to the configuration, no code changed
    years = range(2019, 2024)  # 2023 published
    second = release(codes, years, "2025-12-16", [*COUNTRIES, KOSOVO], kosovo_rows(codes, years))

    assert not first["skipped"] and not second["skipped"]
    (changes,) = rows(
        warehouse_url,
        "SELECT status, added, removed, countries_added, years_added FROM reporting.release_changes"
        " WHERE new_release_label = '2025-12-16'",
    )
    # Added: GDP for 5 economies × 5 years, 2023 of the first two indicators for 5 economies, and
    # Kosovo's 3 indicators × 5 years.
    assert changes == ("loaded", 5 * 5 + 2 * 5 + 3 * 5, 0, json.dumps(["XKX"]), json.dumps([2023]))
    added = rows(
        warehouse_url,
        "SELECT measure, count(*) FROM reporting.value_revisions WHERE new_release_label = '2025-12-16'"
        " AND change_kind = 'added' GROUP BY measure ORDER BY measure",
    )
    assert added == [(REMITTANCES, 10), (GDP, 30), (POPULATION, 10)]
    kosovo = rows(
        warehouse_url,
        "SELECT c.area_type, v.value FROM reporting.indicator_values AS v"
        " JOIN dw.dim_country AS c ON c.country_code = v.country_code"
        " WHERE v.country_code = 'XKX' AND v.indicator_code = :i AND v.year = 2023",
        i=GDP,
    )
    assert kosovo == [("country", 23_000.0)]  # a reference member: a country, not 'unmapped'
    (notice,) = [a for a in alert_webhook.notifications if a["release"] == "2025-12-16"]
    assert notice["changes"]["countries_added"] == ["XKX"] and notice["changes"]["years_added"] == [2023]
    assert not [a for a in alert_webhook.problems if a["severity"] == "error"]


def test_a_new_year_and_an_unknown_unhcr_field_load_with_a_warning(
    httpserver, make_settings, warehouse_url, alert_webhook
):
    settings = make_settings(
        unhcr_base_url=serve_unhcr(httpserver, synthetic_items()),
        warehouse_url=warehouse_url,
        alert_webhook_url=alert_webhook.url,
    )
    pipeline.run_source("unhcr_refugees", settings)
    # The next release: 2025 published, and a field this parser does not know (SYNTHETIC).
    later = [
        *synthetic_items(),
        {"year": 2025, "coo_iso": "AFG", "coa_iso": "TJK", "refugees": 5200, "displaced_abroad": 40},
        {"year": 2025, "coo_iso": "TJK", "coa_iso": "RUS", "refugees": 310, "displaced_abroad": 7},
    ]
    httpserver.clear_all_handlers()
    settings = make_settings(
        unhcr_base_url=serve_unhcr(httpserver, later),
        warehouse_url=warehouse_url,
        alert_webhook_url=alert_webhook.url,
    )
    result = pipeline.run_source("unhcr_refugees", settings)

    assert result["load"]["rows"] == 11  # nine of the first release and the two new refugee values
    (changes,) = rows(
        warehouse_url,
        "SELECT status, added, removed, years_added FROM reporting.release_changes"
        " WHERE new_release_label = 'UNHCR population 2025'",
    )
    assert changes == ("loaded", 2, 0, "[2025]")
    types = rows(warehouse_url, "SELECT DISTINCT population_type FROM dw.fact_refugee_population ORDER BY 1")
    assert ("displaced_abroad",) not in types
    (warning,) = [a for a in alert_webhook.problems if a["kind"] == "validation_warning"]
    (unknown,) = [e for e in warning["expectations"] if e["expectation_type"] == "unknown_field"]
    assert unknown["column"] == "displaced_abroad" and unknown["unexpected_count"] == 2
    assert "stays in the landing and is not loaded" in unknown["why"]
    recorded = rows(
        warehouse_url,
        "SELECT column_name, severity, unexpected_count FROM etl.validation_result"
        " WHERE expectation_type = 'unknown_field'",
    )
    assert recorded == [("displaced_abroad", "warning", 2)]
    landed = Manifest.read(result["landing_dir"])
    pages = [json.loads(landed.path_of(f.name).read_text()) for f in landed.files]
    items = [item for page in pages for item in page["items"]]
    kept = [item["displaced_abroad"] for item in items if "displaced_abroad" in item]
    assert kept == [40, 7]  # the raw payload keeps what the warehouse does not load
