"""UNHCR refugee statistics (a real local HTTP server speaking the API's format, SYNTHETIC test
figures unless marked) and the registry of diaspora engagement."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from werkzeug import Response

from diaspora import pipeline
from diaspora.engagement_registry import load_registry
from diaspora.errors import ConfigError, SourceError
from diaspora.landing import Manifest
from diaspora.sources.base import ParsedDataset
from diaspora.warehouse.engine import get_engine
from tests.support import ROOT, sample_path
from tests.support.dag_helpers import load_dag, states

SAMPLE = json.loads((sample_path("unhcr_refugees") / "population.json").read_text())["items"]  # real


def synthetic_items() -> list[dict]:
    """SYNTHETIC: mixed integer/string counts, a '-' dimension, five rows."""
    return [
        {"year": 2023, "coo_iso": "AFG", "coa_iso": "TJK", "refugees": 5000, "asylum_seekers": "120"},
        {"year": 2023, "coo_iso": "TJK", "coa_iso": "RUS", "refugees": "300", "asylum_seekers": 40},
        {"year": 2023, "coo_iso": "TJK", "coa_iso": "DEU", "refugees": 210, "asylum_seekers": "-"},
        {"year": 2023, "coo_iso": "-", "coa_iso": "TJK", "stateless": "3500"},
        {"year": 2024, "coo_iso": "AFG", "coa_iso": "TJK", "refugees": 5100, "asylum_seekers": 130},
    ]


def serve(httpserver, items: list[dict], fail_first: int = 0, short_page: bool = False) -> str:
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] <= fail_first:
            return Response("slow down", status=429)
        limit, page = int(request.args["limit"]), int(request.args["page"])
        chunk = items[(page - 1) * limit : page * limit]
        if short_page and page == 1:
            chunk = chunk[:-1]
        body = {"page": page, "maxPages": math.ceil(len(items) / limit), "total": {}, "items": chunk}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/population/v1/population/").respond_with_handler(handler)
    return httpserver.url_for("/population/v1")


def parsed(settings, landing_dir):
    pipeline.parse(landing_dir, settings)
    manifest = Manifest.read(landing_dir)
    return ParsedDataset.read(settings.parsed_dir / manifest.source / manifest.landing_id).frames


def test_parse_pages_mixed_counts_and_not_broken_down(httpserver, make_settings):
    settings = make_settings(unhcr_base_url=serve(httpserver, synthetic_items()), unhcr_page_limit=2)
    landing_dir = pipeline.extract("unhcr_refugees", settings)
    manifest = Manifest.read(landing_dir)
    assert [f.name for f in manifest.files] == [f"population/page-000{p}.json" for p in (1, 2, 3)]
    assert manifest.release_label == "UNHCR population 2024"
    facts = parsed(settings, landing_dir)["dw.fact_refugee_population"]
    assert len(facts) == 9
    row = facts[
        (facts.origin_code == "TJK") & (facts.asylum_code == "RUS") & (facts.population_type == "refugees")
    ]
    assert row["persons"].tolist() == [300.0]  # a string count
    assert (
        facts[(facts.asylum_code == "DEU") & (facts.population_type == "asylum_seekers")]["persons"]
        .isna()
        .all()
    )
    assert "-" not in set(facts.origin_code) and "UNHCR:ALL" in set(facts.origin_code)


def test_429_is_retried_and_a_short_page_fails(httpserver, make_settings):
    settings = make_settings(
        unhcr_base_url=serve(httpserver, synthetic_items(), fail_first=1),
        unhcr_page_limit=2,
        http_max_retries=2,
    )
    assert Manifest.read(pipeline.extract("unhcr_refugees", settings)).files
    httpserver.clear_all_handlers()
    settings = make_settings(
        unhcr_base_url=serve(httpserver, synthetic_items(), short_page=True), unhcr_page_limit=2
    )
    with pytest.raises(SourceError, match="page 1 of 3 holds 1 items, fewer than the limit 2"):
        pipeline.extract("unhcr_refugees", settings)


def test_codes_that_are_not_countries_load_with_their_kind_and_a_new_one_warns(
    httpserver, make_settings, tmp_path, alert_webhook
):
    """UNK, XXA and TIB are decided in reference/special_areas.csv; ZZZ, never seen, loads as
    'unmapped' with a warning naming it and its row count, and the release is not refused."""
    items = [
        *synthetic_items(),
        {"year": 2024, "coo_iso": "UNK", "coo_name": "Unknown", "coa_iso": "TJK", "refugees": 7},
        {"year": 2024, "coo_iso": "XXA", "coo_name": "Stateless", "coa_iso": "UNK", "refugees": 5},
        {"year": 2024, "coo_iso": "TIB", "coo_name": "Tibetan", "coa_iso": "TJK", "refugees": 3},
        {"year": 2024, "coo_iso": "ZZZ", "coo_name": "Zedland", "coa_iso": "TJK", "refugees": 1, "idps": 0},
    ]
    url = f"duckdb:///{tmp_path / 'w.db'}"
    settings = make_settings(
        unhcr_base_url=serve(httpserver, items), warehouse_url=url, alert_webhook_url=alert_webhook.url
    )

    result = pipeline.run_source("unhcr_refugees", settings)

    assert result["load"]["rows"] == 9 + 5
    with get_engine(url).connect() as conn:
        kinds = dict(
            conn.execute(
                sa.text(
                    "SELECT country_code, area_type || ' ' || name FROM dw.dim_country"
                    " WHERE country_code IN ('UNK', 'XXA', 'TIB', 'ZZZ', 'UNHCR:ALL')"
                )
            ).all()
        )
        hosted = conn.execute(
            sa.text(
                "SELECT refugees_hosted FROM reporting.refugees WHERE country_code = 'TJK' AND year = 2024"
            )
        ).scalar_one()
        flags = conn.execute(
            sa.text(
                "SELECT origin_code, quality_flags FROM dw.fact_refugee_population"
                " WHERE quality_flags IS NOT NULL"
            )
        ).all()
    assert kinds == {
        "UNK": "unknown Unknown",
        "XXA": "stateless Stateless",
        "TIB": "territory Tibetan",
        "ZZZ": "unmapped Zedland",
        "UNHCR:ALL": "aggregate All (not broken down)",
    }
    assert hosted == 5100 + 7 + 3 + 1  # every origin counts in what Tajikistan hosts
    assert sorted(flags) == [("ZZZ", "unmapped_code"), ("ZZZ", "unmapped_code")]
    (alert,) = alert_webhook.problems
    (warning,) = alert["expectations"]
    assert alert["kind"] == "validation_warning" and warning["column"] == "origin_code"
    assert warning["values"] == [["ZZZ", 2]] and warning["flag"] == "unmapped_code"


@pytest.mark.e2e
def test_dag_loads_the_real_sample(airflow_db, httpserver, make_settings, warehouse_url):
    make_settings(unhcr_base_url=serve(httpserver, SAMPLE), warehouse_url=warehouse_url)
    dag_run = load_dag("unhcr_refugees").test(logical_date=datetime(2026, 11, 3, tzinfo=UTC))
    assert str(dag_run.state) == "success", states(dag_run)
    with get_engine(warehouse_url).connect() as conn:
        tajikistan = dict(
            conn.execute(
                sa.text("SELECT * FROM reporting.refugees WHERE country_code = 'TJK' AND year = 2024")
            )
            .first()
            ._mapping
        )
    # Real figures (UNHCR 2024): from Tajikistan 3,945 refugees and 8,203 asylum seekers;
    # hosted in Tajikistan 11,033 refugees and 3,629 stateless persons.
    assert (tajikistan["refugees_from"], tajikistan["asylum_seekers_from"]) == (3945, 8203)
    assert (tajikistan["refugees_hosted"], tajikistan["stateless_hosted"]) == (11033, 3629)
    assert tajikistan["asylum_seekers_hosted"] is None  # not given: not available, never 0


def test_registry_is_loaded_with_dated_validity(make_settings, warehouse_url):
    pipeline.prepare_warehouse(make_settings(warehouse_url=warehouse_url))
    with get_engine(warehouse_url).connect() as conn:
        rows = {
            r.name: r
            for r in conn.execute(
                sa.text("SELECT * FROM reporting.diaspora_engagement WHERE country_code = 'TJK'")
            )
        }
        rights = conn.execute(sa.text("SELECT * FROM reporting.political_rights")).first()
    assert len(rows) == 6 + 4 + 9
    assert rows["Migration Service"].valid_from.isoformat() == "2011-01-01"
    assert rows["Agency for Employment Abroad"].status == "inactive"
    assert rows["TajikInvest and Peshraft"].host_country_name == "United Kingdom"
    assert rows["TajikInvest and Peshraft"].category == "integration, development"
    plan = rows["Roadmap on Reintegration of Returning Labour Migrants 2018–2021"]
    assert plan.valid_to.isoformat() == "2021-12-31"
    assert rights.dual_citizenship == "restricted" and rights.dual_citizenship_with == "RUS"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["institutions"][3].pop("level"),
            r'TJK\.yml: institutions\[3\] \("Migration Service"\), field level: Field required',
        ),
        (
            lambda r: r["organisations"][1].update(host_country="XYZ"),
            r'organisations\[1\] \("NUR Tadschikische Gesellschaft e\.V\."\), field host_country: '
            r".*unknown country code",
        ),
        (lambda r: r["policies"][0].update(kind="decree"), r"policies\[0\] .*field kind"),
    ],
)
def test_registry_errors_name_file_entry_and_field(tmp_path, change, message):
    import yaml

    raw = yaml.safe_load((ROOT / "reference" / "registry" / "TJK.yml").read_text())
    change(raw)
    broken = tmp_path / "TJK.yml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(ConfigError, match=message):
        load_registry(broken)
