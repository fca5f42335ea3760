"""World Bank extract and parse on real-format payloads served by a real local HTTP server."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.errors import ParseError, SourceError
from diaspora.landing import Manifest
from diaspora.sources.base import ParsedDataset
from tests.conftest import INDICATORS
from tests.support import sample_path
from tests.support.worldbank_api import FakeWorldBank, synthetic_values, value_row


def _extract(httpserver, api: FakeWorldBank, make_settings, **overrides) -> Manifest:
    settings = make_settings(worldbank_base_url=api.install(httpserver), **overrides)
    return Manifest.read(pipeline.extract("worldbank_indicators", settings))


def _parse(manifest: Manifest, make_settings) -> ParsedDataset:
    settings = make_settings()
    pipeline.parse(manifest.directory, settings)
    return ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id)


def test_follows_every_page_and_lands_payloads_unchanged(httpserver, fake_worldbank, make_settings):
    manifest = _extract(httpserver, fake_worldbank, make_settings, worldbank_per_page=7)

    rows = len(fake_worldbank.values["SM.POP.NETM"])
    pages = math.ceil(rows / 7)
    netm = [f for f in manifest.files if f.name.startswith("indicator/SM.POP.NETM/")]
    assert [f.name for f in netm] == [f"indicator/SM.POP.NETM/page-{p:04d}.json" for p in range(1, pages + 1)]
    assert manifest.release_label == "2025-07-01"
    for landed in manifest.files:
        content = manifest.path_of(landed.name).read_bytes()
        assert landed.size == len(content)
        assert "per_page=7" in landed.url and landed.meta["lastupdated"] == "2025-07-01"
    on_disk = json.loads((manifest.path_of("manifest.json")).read_text())
    assert on_disk["content_sha256"] == manifest.content_sha256


def test_parse_keeps_nulls_negatives_and_flags_aggregates(httpserver, fake_worldbank, make_settings):
    parsed = _parse(_extract(httpserver, fake_worldbank, make_settings), make_settings)
    facts = parsed.frames["dw.fact_indicator_value"]
    countries = parsed.frames["dw.dim_country"].set_index("country_code")

    assert len(facts) == sum(len(rows) for rows in fake_worldbank.values.values())
    kgz_2023 = facts[(facts.country_code == "KGZ") & (facts.year == 2023)]
    assert kgz_2023["value"].isna().all() and len(kgz_2023) == len(INDICATORS)  # NULL, never 0
    assert (facts[facts.indicator_code == "SM.POP.NETM"]["value"] < 0).any()
    assert bool(countries.loc["WLD", "is_aggregate"]) and bool(countries.loc["ECS", "is_aggregate"])
    assert not countries.loc["TJK", "is_aggregate"]
    assert countries.loc["TJK", "wb_income_group"] == "Lower middle income"
    assert pd.isna(countries.loc["WLD", "wb_region"])
    # ECS rows came with a blank countryiso3code: resolved through the ISO2 id.
    assert (facts.country_code == "ECS").sum() == len(INDICATORS) * 9
    assert set(facts.country_code) <= set(countries.index)


def test_error_body_shows_the_api_message(httpserver, make_settings):
    error_body = [
        {
            "message": [
                {
                    "id": "120",
                    "key": "Invalid value",
                    "value": "The provided parameter value is not valid",
                }
            ]
        }
    ]
    # Registered first, so it wins over the look-alike's handlers.
    httpserver.expect_request("/v2/country/all/indicator/BX.TRF.PWKR.CD.DT").respond_with_json(error_body)
    settings = make_settings(worldbank_base_url=FakeWorldBank(values={}).install(httpserver))

    with pytest.raises(SourceError) as error:
        pipeline.extract("worldbank_indicators", settings)
    assert "120 Invalid value: The provided parameter value is not valid" in str(error.value)
    assert "BX.TRF.PWKR.CD.DT" in str(error.value)


def test_a_missing_page_fails_the_extract(httpserver, fake_worldbank, make_settings):
    fake_worldbank.drop_page = 2
    with pytest.raises(SourceError, match=r"received \d+ rows but the API announced total=\d+"):
        _extract(httpserver, fake_worldbank, make_settings, worldbank_per_page=10)


def test_a_page_that_is_not_the_api_format_is_a_clear_error(httpserver, make_settings):
    settings = make_settings(worldbank_base_url=httpserver.url_for("/v2"))
    httpserver.expect_request("/v2/country").respond_with_data("<html>maintenance</html>")
    with pytest.raises(SourceError, match=r"/v2/country\?.*not JSON"):
        pipeline.extract("worldbank_indicators", settings)


def test_schema_drift_in_a_row_names_the_file_and_field(httpserver, make_settings):
    rows = synthetic_values(["BX.TRF.PWKR.CD.DT"], range(2020, 2022))
    broken = value_row("BX.TRF.PWKR.CD.DT", "TJK", 2022, 5.0)
    broken["date"] = "2022Q1"
    rows["BX.TRF.PWKR.CD.DT"].append(broken)
    api = FakeWorldBank(values=rows)
    manifest = _extract(
        httpserver,
        api,
        make_settings,
        worldbank_indicators_file=_one_indicator_config(make_settings),
    )
    with pytest.raises(ParseError, match=r"page-0001\.json: field 'date' is not a year: '2022Q1'"):
        _parse(manifest, make_settings)


def _one_indicator_config(make_settings) -> str:
    settings = make_settings()
    path = settings.data_dir.parent / "one_indicator.yml"
    path.write_text(
        "start_year: 2020\nend_year: 2024\nindicators:\n"
        "  - {code: BX.TRF.PWKR.CD.DT, name: Remittances received, unit: current US$}\n"
    )
    return str(path)


@pytest.mark.parametrize("source", ["worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees"])
def test_bundled_snapshots_match_their_pinned_checksums(source):
    from hashlib import sha256

    snapshot = sample_path(source)
    snapshot = snapshot.parent if snapshot.name == "api" or snapshot.is_file() else snapshot
    pinned = json.loads((snapshot / "SNAPSHOT.json").read_text())
    base = snapshot / "api" if (snapshot / "api").is_dir() else snapshot
    for name, digest in pinned["sha256"].items():
        assert sha256((base / name).read_bytes()).hexdigest() == digest, name
    assert pinned["provenance"]


def test_an_economy_no_reference_file_knows_loads_unmapped_and_warns(
    httpserver, make_settings, tmp_path, alert_webhook
):
    """SYNTHETIC: the API lists an economy 'XQZ' the reference files do not know, and a value row
    names 'XQY', which /country does not list at all. Both load as 'unmapped' members, their rows
    are flagged, one warning alert names them with their row counts, and the release loads."""
    import sqlalchemy as sa

    from diaspora.warehouse.engine import get_engine
    from tests.support.worldbank_api import COUNTRIES, ECS, LMC

    api = FakeWorldBank(values=synthetic_values(["SP.POP.TOTL"], range(2021, 2024)))
    api.countries = [
        *COUNTRIES,
        {"id": "XQZ", "iso2Code": "XQ", "name": "Newland", "region": ECS, "incomeLevel": LMC},
    ]
    extra = [value_row("SP.POP.TOTL", "TJK", year, 1000.0) for year in (2021, 2022, 2023)]
    for row in extra:
        row["countryiso3code"], row["country"] = "XQZ", {"id": "XQ", "value": "Newland"}
    stray = value_row("SP.POP.TOTL", "TJK", 2023, 5.0)
    stray["countryiso3code"], stray["country"] = "XQY", {"id": "XY", "value": "Strayland"}
    api.values["SP.POP.TOTL"] += [*extra, stray]
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    settings = make_settings(
        worldbank_base_url=api.install(httpserver), warehouse_url=url, alert_webhook_url=alert_webhook.url
    )

    result = pipeline.run_source("worldbank_indicators", settings)

    assert result["load"]["rows"] == 5 * 3 + 4
    with get_engine(url).connect() as conn:
        members = conn.execute(
            sa.text(
                "SELECT country_code, area_type, name FROM dw.dim_country"
                " WHERE country_code IN ('XQZ', 'XQY') ORDER BY 1"
            )
        ).all()
        flagged = conn.execute(
            sa.text("SELECT count(*) FROM dw.fact_indicator_value WHERE quality_flags = 'unmapped_code'")
        ).scalar_one()
    assert members == [("XQY", "unmapped", "Strayland"), ("XQZ", "unmapped", "Newland")]
    assert flagged == 4
    (alert,) = [a for a in alert_webhook.received if a["kind"] == "validation_warning"]
    (unmapped,) = [e for e in alert["expectations"] if e["flag"] == "unmapped_code"]
    assert unmapped["values"] == [["XQZ", 3], ["XQY", 1]]  # each code with its rows, most first
