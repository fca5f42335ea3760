"""End to end: the undesa_migrant_stock DAG under dag.test(), the real-figure sample served by a
real local HTTP server, into DuckDB and PostgreSQL; the diaspora profile checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug import Response

from diaspora import pipeline
from tests.support import sample_path, sample_url
from tests.support.dag_helpers import load_dag, states
from tests.support.sql import dicts

pytestmark = pytest.mark.e2e
SAMPLE = sample_path("undesa_migrant_stock")
WORLDBANK_SNAPSHOT = sample_url("worldbank_indicators")

# Real figures (UN DESA IMS 2024), Tajikistan-born emigrants at mid-2024: (female, male).
BY_DESTINATION = {
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
TOTAL_2024 = (219120, 295358)
EEA_2024 = {"LVA", "LTU", "EST", "BGR", "NOR", "GRC", "FIN", "DNK", "LUX", "HUN", "SVK", "SVN", "CYP", "ISL"}
POPULATION_2023 = 10389808  # SP.POP.TOTL, the latest year before 2024 in the World Bank snapshot


def test_dag_loads_sample_and_profile_matches_hand_computation(
    airflow_db, httpserver, make_settings, warehouse_url
):
    served = httpserver.expect_request(
        "/files/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx",
        headers={"User-Agent": "diaspora-test/1.0 (ops@example.org)"},
    )
    served.respond_with_response(Response(SAMPLE.read_bytes(), content_type="application/vnd.ms-excel"))
    settings = make_settings(
        undesa_ims_url=httpserver.url_for(
            "/files/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
        ),
        warehouse_url=warehouse_url,
        worldbank_base_url=WORLDBANK_SNAPSHOT,
        http_user_agent="diaspora-test/1.0 (ops@example.org)",
    )
    dag = load_dag("undesa_migrant_stock")
    first = dag.test(logical_date=datetime(2026, 11, 1, tzinfo=UTC))
    assert str(first.state) == "success", states(first)
    facts = dicts(warehouse_url, "SELECT count(*) AS n FROM dw.fact_migrant_stock")[0]["n"]
    assert facts == 32 * 24

    second = dag.test(logical_date=datetime(2026, 12, 1, tzinfo=UTC))  # unchanged file: nothing loaded
    assert states(second)["load"] == "skipped"
    assert dicts(warehouse_url, "SELECT count(*) AS n FROM dw.fact_migrant_stock")[0]["n"] == facts

    pipeline.run_source("worldbank_indicators", settings)  # population and remittances
    profile = dicts(
        warehouse_url, "SELECT * FROM reporting.diaspora_profile WHERE country_code = 'TJK' AND year = 2024"
    )[0]

    female, male = TOTAL_2024
    total = female + male
    assert profile["emigrants"] == total == 514478
    assert profile["female_pct"] == pytest.approx(100 * female / total)
    assert profile["male_pct"] == pytest.approx(100 * male / total)
    assert profile["population_year"] == 2023 and profile["population"] == POPULATION_2023
    assert profile["emigrants_pct_of_population"] == pytest.approx(100 * total / POPULATION_2023)
    top = sorted(BY_DESTINATION.items(), key=lambda item: -sum(item[1]))[:5]
    names = dicts(warehouse_url, "SELECT country_code, name FROM dw.dim_country")
    name = {row["country_code"]: row["name"] for row in names}
    assert profile["top_destinations"] == "; ".join(f"{name[c]}: {f + m}" for c, (f, m) in top)
    eea_female = sum(BY_DESTINATION[c][0] for c in EEA_2024)
    eea_male = sum(BY_DESTINATION[c][1] for c in EEA_2024)
    assert profile["eea_emigrants"] == eea_female + eea_male == 1961
    assert profile["eea_pct_of_emigrants"] == pytest.approx(100 * 1961 / total)
    assert profile["eea_female_pct"] == pytest.approx(100 * eea_female / 1961)
    assert profile["remittances_year"] == 2023
    assert profile["remittances_received_usd"] == 4633754222
    assert profile["stock_release"] == "IMS 2024"
    assert profile["remittances_release"] == profile["population_release"] == "offline-snapshot-2026-11-22"

    russia = dicts(
        warehouse_url,
        "SELECT * FROM reporting.emigrants_by_destination WHERE origin_code = 'TJK'"
        " AND destination_code = 'RUS' AND year = 2024 AND sex = 'both'",
    )[0]
    assert russia["migrants"] == 415676 and russia["destination_rank"] == 1
    assert russia["share_of_origin_total_pct"] == pytest.approx(100 * 415676 / total)
    earlier = dicts(
        warehouse_url,
        "SELECT migrants FROM reporting.emigrants_by_destination"
        " WHERE origin_code = 'TJK' AND destination_code = 'RUS' AND year = 2020 AND sex = 'both'",
    )
    assert earlier == [{"migrants": None}]  # not available in the sample: NULL, never 0
