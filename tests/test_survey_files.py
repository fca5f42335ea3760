"""Survey files end to end on DuckDB and PostgreSQL: each format loads once, bad files are
quarantined with their reasons, and no personal value reaches the warehouse (SYNTHETIC data)."""

from __future__ import annotations

import json

import pandas as pd
import pyreadstat
import pytest
import sqlalchemy as sa

from diaspora import pipeline
from diaspora.surveys.checks import suite_for
from diaspora.surveys.definitions import load_definition
from diaspora.surveys.process import process_file
from diaspora.warehouse.engine import get_engine

DEFINITION = """
survey_id: tj_lms_test
title: Test labour-migration household survey
producer: test
country: TJK
fieldwork_start: 2024-03-01
fieldwork_end: 2024-05-31
file_pattern: "tj_lms_*"
data_note: SYNTHETIC test data
respondent_id: hh_id
weight: weight
personal: [{column: name, handling: drop}, {column: phone, handling: hash}]
questions:
  - {code: region, text: Region, type: categorical, values: {"1": Dushanbe, "2": GBAO, "3": Sughd}}
  - {code: abroad, text: A member works abroad, type: categorical, values: {"0": "No", "1": "Yes"}}
  - {code: remit_usd, text: Remittances in the last 12 months (USD), type: numeric, min: 0, max: 100000}
"""
PEOPLE = {
    "name": ["Firuza Rahimova", "Davron Saidov", "Nigina Karimova"],
    "phone": ["+992 90 111 2233", "+992 93 444 5566", "+992 91 777 8899"],
}  # SYNTHETIC


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hh_id": [1, 2, 3],
            "region": [1, 3, 3],
            "abroad": [1, 0, 1],
            "remit_usd": [1200.0, 0.0, 800.0],
            "weight": [1.5, 1.0, 0.5],
            **PEOPLE,
        }
    )


@pytest.fixture
def survey_settings(make_settings, warehouse_url, tmp_path):
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "tj_lms_test.yml").write_text(DEFINITION)
    expectations = tmp_path / "expectations"
    expectations.mkdir()
    suite = suite_for(load_definition(definitions / "tj_lms_test.yml"))
    (expectations / "survey_tj_lms_test.json").write_text(json.dumps(suite))
    settings = make_settings(
        warehouse_url=warehouse_url,
        survey_definitions_dir=definitions,
        expectations_dir=expectations,
        survey_salt="test-salt",
    )
    pipeline.migrate(get_engine(warehouse_url))
    return settings


def rows(url: str, sql: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


@pytest.mark.parametrize("extension", ["csv", "xlsx", "sav", "dta"])
def test_each_format_loads_once_without_personal_data(survey_settings, extension):
    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"tj_lms_2024.{extension}"
    data = frame()
    if extension == "csv":
        data.to_csv(path, index=False)
    elif extension == "xlsx":
        data.to_excel(path, index=False)
    elif extension == "sav":
        pyreadstat.write_sav(data, str(path), variable_value_labels={"region": {1: "Dushanbe", 3: "Sughd"}})
    else:
        pyreadstat.write_dta(data, str(path))
    content = path.read_bytes()

    result = process_file(path, survey_settings)
    assert result["status"] == "loaded", result
    url = survey_settings.warehouse_url
    assert rows(url, "SELECT count(*) FROM dw.fact_survey_response") == [(9,)]
    assert rows(
        url,
        "SELECT category_code, weight FROM dw.fact_survey_response WHERE question_code = 'region'"
        " ORDER BY respondent_id",
    ) == [("1", 1.5), ("3", 1.0), ("3", 0.5)]
    again = inbox / f"tj_lms_2024_copy.{extension}"
    again.write_bytes(content)
    assert process_file(again, survey_settings)["status"] == "duplicate"  # same bytes load once
    assert rows(url, "SELECT count(*) FROM etl.survey_file") == [(1,)]
    assert list(inbox.iterdir()) == []  # both moved out: archive/<date>/
    dump = json.dumps(
        rows(url, "SELECT * FROM dw.fact_survey_response")
        + rows(url, "SELECT * FROM dw.dim_question")
        + rows(url, "SELECT * FROM etl.survey_file"),
        default=str,
    )
    for value in PEOPLE["name"] + PEOPLE["phone"] + ["test-salt"]:
        assert value not in dump


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.drop(columns=["weight"]), "expect_table_columns_to_match_set"),
        (lambda d: d.assign(weight=[1.0, 0.0, 1.0]), "expect_column_values_to_be_between on _weight_value"),
        (lambda d: d.assign(hh_id=[1, 1, 3]), "expect_column_values_to_be_unique on hh_id: 2 unexpected"),
        (lambda d: d.assign(region=[1, 9, 3]), "on region: 1 unexpected, e.g. ['9'] at rows [3]"),
    ],
)
def test_bad_files_are_quarantined_and_nothing_is_loaded(survey_settings, mutate, reason):
    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / "tj_lms_bad.csv"
    mutate(frame()).to_csv(path, index=False)

    result = process_file(path, survey_settings)

    assert result["status"] == "quarantined"
    assert any(reason in r for r in result["reasons"]), result["reasons"]
    report = json.loads(
        (survey_settings.survey_inbox_dir.parent / "quarantine" / "tj_lms_bad.csv.error.json").read_text()
    )
    assert report["reasons"] == result["reasons"] and report["survey_id"] == "tj_lms_test"
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM dw.fact_survey_response") == [(0,)]


def test_a_file_matching_no_definition_is_quarantined(survey_settings):
    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "household.csv").write_text("a\n1\n")
    result = process_file(inbox / "household.csv", survey_settings)
    assert result["status"] == "quarantined" and "matches no survey definition" in result["reasons"][0]


def test_weighted_estimates_match_a_hand_computation(survey_settings):
    import math

    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    frame().to_csv(inbox / "tj_lms_2024.csv", index=False)
    assert process_file(inbox / "tj_lms_2024.csv", survey_settings)["status"] == "loaded"
    with get_engine(survey_settings.warehouse_url).connect() as conn:
        estimates = {
            (r.question_code, r.category_code, r.breakdown_question, r.breakdown_category): r
            for r in conn.execute(sa.text("SELECT * FROM reporting.survey_estimates"))
        }

    weights = [1.5, 1.0, 0.5]
    n_eff = sum(weights) ** 2 / sum(w * w for w in weights)  # Kish: 9 / 3.5
    share = 1.5 / 3.0  # region 1 (Dushanbe): respondent 1 only
    dushanbe = estimates[("region", "1", None, None)]
    assert dushanbe.estimate == pytest.approx(100 * share) and dushanbe.unweighted_n == 1
    assert dushanbe.effective_n == pytest.approx(n_eff)
    assert dushanbe.standard_error == pytest.approx(100 * math.sqrt(share * (1 - share) / n_eff))
    values = [1200.0, 0.0, 800.0]
    mean = sum(w * x for w, x in zip(weights, values, strict=True)) / sum(weights)
    variance = sum(w * (x - mean) ** 2 for w, x in zip(weights, values, strict=True)) / sum(weights)
    remittances = estimates[("remit_usd", None, None, None)]
    assert remittances.estimate == pytest.approx(mean) and remittances.unweighted_n == 3
    assert remittances.standard_error == pytest.approx(math.sqrt(variance / n_eff))
    # By region: in Sughd (region 3) respondents 2 and 3, weights 1.0 and 0.5, one has a member abroad.
    sughd_abroad = estimates[("abroad", "1", "region", "3")]
    assert sughd_abroad.estimate == pytest.approx(100 * 0.5 / 1.5) and sughd_abroad.unweighted_n == 1


@pytest.mark.e2e
@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_survey_dag_processes_every_file_and_alerts_once_for_the_bad_one(
    airflow_db, survey_settings, httpserver, make_settings
):
    from datetime import UTC, datetime

    from tests.dag_helpers import load_dag, states

    received = []
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_handler(
        lambda request: received.append(request.get_json()) or "ok"
    )
    make_settings(alert_webhook_url=httpserver.url_for("/hooks/alerts"))
    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    frame().to_csv(inbox / "tj_lms_good.csv", index=False)
    frame().assign(weight=[1.0, -2.0, 1.0]).to_csv(inbox / "tj_lms_bad.csv", index=False)
    (inbox / "tj_lms_broken.sav").write_bytes(b"$FL2 truncated")

    dag_run = load_dag("survey_files").test(logical_date=datetime(2026, 11, 22, tzinfo=UTC))

    assert str(dag_run.state) == "success", states(dag_run)
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(1,)]
    assert len(received) == 1 and received[0]["kind"] == "quarantine"
    paths = sorted(q["path"].rsplit("/", 1)[-1] for q in received[0]["quarantined"])
    assert paths == ["tj_lms_bad.csv", "tj_lms_broken.sav"]
    assert list(inbox.iterdir()) == []


def test_without_a_salt_the_file_stays_in_the_inbox(survey_settings, make_settings):
    from diaspora.errors import ConfigError

    settings = make_settings(survey_salt="")
    inbox = settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    frame().to_csv(inbox / "tj_lms_2024.csv", index=False)
    with pytest.raises(ConfigError, match="DIASPORA_SURVEY_SALT is not set"):
        process_file(inbox / "tj_lms_2024.csv", settings)
    assert [p.name for p in inbox.iterdir()] == ["tj_lms_2024.csv"]


def test_problems_in_later_chunks_name_their_file_rows(survey_settings, monkeypatch):
    from diaspora.surveys import readers

    monkeypatch.setattr(readers, "CHUNK_ROWS", 2)
    inbox = survey_settings.survey_inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    data = pd.concat([frame()] * 2, ignore_index=True).assign(hh_id=range(1, 7), region=[1, 3, 3, 1, 9, 3])
    data.to_csv(inbox / "tj_lms_chunks.csv", index=False)

    result = process_file(inbox / "tj_lms_chunks.csv", survey_settings)

    assert result["status"] == "quarantined"
    assert any("e.g. ['9'] at rows [6]" in r for r in result["reasons"]), result["reasons"]  # 5th record
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM dw.fact_survey_response") == [(0,)]
