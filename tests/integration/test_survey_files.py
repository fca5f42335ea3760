"""Survey files end to end on DuckDB and PostgreSQL: each format loads once, bad files are
quarantined with their reasons, and no personal value reaches the warehouse (SYNTHETIC data)."""

from __future__ import annotations

import hashlib
import hmac
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
from tests.support.sql import rows

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
    return build_survey_settings(make_settings, warehouse_url, tmp_path)


def build_survey_settings(make_settings, warehouse_url: str, tmp_path):  # noqa: ANN001, ANN201
    """The test survey's definition and suite, a migrated warehouse and an empty inbox."""
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
        survey_settle_seconds=0,  # files written whole by the test; arrival is tested on its own
        survey_min_cell=1,  # three-respondent files: the estimates' arithmetic is under test here
    )
    pipeline.migrate(get_engine(warehouse_url))
    settings.survey_inbox_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def two_row_chunks(monkeypatch):
    """Files read two rows at a time, so that a six-row file spans three chunks."""
    from diaspora.surveys import readers

    monkeypatch.setattr(readers, "CHUNK_ROWS", 2)


def staging_tables(url: str) -> list[tuple]:
    """Tables left in ``staging``: a load, failed or not, leaves none."""
    return rows(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'")


@pytest.mark.parametrize("extension", ["csv", "xlsx", "sav", "dta"])
def test_each_format_loads_once_without_personal_data(survey_settings, extension):
    inbox = survey_settings.survey_inbox_dir
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
    assert rows(url, "SELECT count(*) FROM dw.fact_survey_response") == [(12,)]  # 3 × (3 questions + phone)
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
    tables = rows(
        url,
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ('dw', 'etl', 'staging', 'reporting')",
    )
    assert ("dw", "fact_survey_response") in tables and ("reporting", "survey_estimates") in tables
    dump = json.dumps([rows(url, f"SELECT * FROM {schema}.{name}") for schema, name in tables], default=str)
    for value in PEOPLE["name"] + PEOPLE["phone"] + ["test-salt"]:
        assert value not in dump
    # The phone is kept for linkage as HMAC-SHA256 under the salt, computed here independently.
    linkage = [hmac.new(b"test-salt", p.encode(), hashlib.sha256).hexdigest() for p in PEOPLE["phone"]]
    assert rows(
        url,
        "SELECT text_value FROM dw.fact_survey_response WHERE question_code = 'phone' ORDER BY respondent_id",
    ) == [(h,) for h in linkage]
    assert rows(url, "SELECT type FROM dw.dim_question WHERE question_code = 'phone'") == [("text",)]
    assert staging_tables(url) == []
    labels = rows(url, "SELECT value_labels FROM etl.survey_file")
    # .sav keeps the labels the producer's software wrote (here only for region); CSV has none.
    assert labels == [('{"region": {"1": "Dushanbe", "3": "Sughd"}}' if extension == "sav" else None,)]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.drop(columns=["weight"]), "expect_table_columns_to_match_set"),
        (lambda d: d.assign(weight=[1.0, 0.0, 1.0]), "expect_column_values_to_be_between on _weight_value"),
        (
            lambda d: d.assign(weight=["1.0", "heavy", "1.0"]),
            "expect_column_values_to_not_be_null on _weight_value: 1 unexpected",
        ),
        (lambda d: d.assign(hh_id=[1, 1, 3]), "expect_column_values_to_be_unique on hh_id: 2 unexpected"),
        (lambda d: d.assign(region=[1, 9, 3]), "on region: 1 unexpected, e.g. ['9'] at rows [3]"),
    ],
)
def test_bad_files_are_quarantined_and_nothing_is_loaded(survey_settings, mutate, reason):
    inbox = survey_settings.survey_inbox_dir
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


def test_a_csv_cut_off_mid_row_is_quarantined(survey_settings):
    inbox = survey_settings.survey_inbox_dir
    text = frame().to_csv(index=False)
    (inbox / "tj_lms_cut.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 6])  # last row cut

    result = process_file(inbox / "tj_lms_cut.csv", survey_settings)

    assert result["status"] == "quarantined"
    assert any("at rows [4]" in r for r in result["reasons"]), result["reasons"]  # the cut row, named
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM dw.fact_survey_response") == [(0,)]
    assert staging_tables(survey_settings.warehouse_url) == []


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tj_lms_enc.csv", "hh_id,region\n1,Хатлон\n".encode("cp1251"), "not valid utf-8 text"),
        ("tj_lms_empty.csv", b"", "the file is empty"),
        ("tj_lms_header.csv", b"hh_id,region,abroad,remit_usd,weight\n", "the file has no data rows"),
        ("tj_lms_fake.xlsx", b"hh_id,weight\n1,1\n", "content is csv, not what its extension .xlsx claims"),
        ("tj_lms_cut.sav", b"$FL2" + b"\x00" * 40, "cannot read the sav file"),
        ("..tj_lms.csv", b"hh_id\n1\n", "unsafe file name"),
        ("tj_lms\\..\\x.csv", b"hh_id\n1\n", "unsafe file name"),  # a backslash path in a name
    ],
)
def test_unreadable_files_are_quarantined_with_the_reason(survey_settings, name, content, reason):
    inbox = survey_settings.survey_inbox_dir
    (inbox / name).write_bytes(content)

    result = process_file(inbox / name, survey_settings)

    assert result["status"] == "quarantined"
    assert any(reason in r for r in result["reasons"]), result["reasons"]
    quarantine = inbox.parent / "quarantine"
    assert (quarantine / name).read_bytes() == content and (quarantine / f"{name}.error.json").exists()
    assert list(inbox.iterdir()) == []
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(0,)]
    assert staging_tables(survey_settings.warehouse_url) == []


def test_a_file_matching_no_definition_is_quarantined(survey_settings):
    inbox = survey_settings.survey_inbox_dir
    (inbox / "household.csv").write_text("a\n1\n")
    result = process_file(inbox / "household.csv", survey_settings)
    assert result["status"] == "quarantined" and "matches no survey definition" in result["reasons"][0]


def test_weighted_estimates_match_a_hand_computation(survey_settings):
    import math

    inbox = survey_settings.survey_inbox_dir
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

    from tests.support.dag_helpers import load_dag, states

    received = []
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_handler(
        lambda request: received.append(request.get_json()) or "ok"
    )
    make_settings(alert_webhook_url=httpserver.url_for("/hooks/alerts"))
    inbox = survey_settings.survey_inbox_dir
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
    frame().to_csv(inbox / "tj_lms_2024.csv", index=False)
    with pytest.raises(ConfigError, match="DIASPORA_SURVEY_SALT is not set"):
        process_file(inbox / "tj_lms_2024.csv", settings)
    assert [p.name for p in inbox.iterdir()] == ["tj_lms_2024.csv"]


def test_problems_in_later_chunks_name_their_file_rows(survey_settings, two_row_chunks):
    inbox = survey_settings.survey_inbox_dir
    data = pd.concat([frame()] * 2, ignore_index=True).assign(hh_id=range(1, 7), region=[1, 3, 3, 1, 9, 3])
    data.to_csv(inbox / "tj_lms_chunks.csv", index=False)

    result = process_file(inbox / "tj_lms_chunks.csv", survey_settings)

    assert result["status"] == "quarantined"
    assert any("e.g. ['9'] at rows [6]" in r for r in result["reasons"]), result["reasons"]  # 5th record
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM dw.fact_survey_response") == [(0,)]
    assert staging_tables(survey_settings.warehouse_url) == []  # the first chunk, staged, is gone too


CYRILLIC_DEFINITION = """
survey_id: tj_cyrillic_test
title: Test survey written by software that saves Windows-1251
producer: test
country: TJK
fieldwork_start: 2024-03-01
fieldwork_end: 2024-05-31
file_pattern: "tj_cyr_*"
data_note: SYNTHETIC test data
format: {delimiter: ";", encoding: cp1251}
respondent_id: hh_id
weight: weight
questions:
  - {code: region, text: Region, type: categorical, values: {"1": Dushanbe, "3": Sughd}}
  - {code: city, text: City where the member works, type: text}
"""


def test_a_csv_in_the_encoding_and_delimiter_its_definition_declares(survey_settings):
    definitions = survey_settings.survey_definitions_dir
    (definitions / "tj_cyrillic_test.yml").write_text(CYRILLIC_DEFINITION)
    suite = suite_for(load_definition(definitions / "tj_cyrillic_test.yml"))
    (survey_settings.expectations_dir / "survey_tj_cyrillic_test.json").write_text(json.dumps(suite))
    inbox = survey_settings.survey_inbox_dir
    cities = ["Москва", "Екатеринбург", "Алматы"]  # SYNTHETIC answers, Cyrillic as cp1251 writes it
    data = pd.DataFrame({"hh_id": [1, 2, 3], "region": [1, 3, 3], "city": cities, "weight": [1.0, 1.0, 2.0]})
    (inbox / "tj_cyr_2024.csv").write_bytes(data.to_csv(index=False, sep=";").encode("cp1251"))
    utf8 = inbox / "tj_cyr_2024_utf8.csv"  # the same table in UTF-8 is not what the definition declares
    utf8.write_bytes(data.to_csv(index=False, sep=";").encode("utf-8"))

    assert process_file(inbox / "tj_cyr_2024.csv", survey_settings)["status"] == "loaded"
    assert rows(
        survey_settings.warehouse_url,
        "SELECT text_value FROM dw.fact_survey_response WHERE question_code = 'city' ORDER BY respondent_id",
    ) == [(c,) for c in cities]
    # cp1251 decodes any byte: UTF-8 would load as mojibake, so a file whose text is UTF-8 is refused.
    refused = process_file(utf8, survey_settings)
    assert refused["status"] == "quarantined"
    assert refused["reasons"] == [
        "the file is UTF-8, not cp1251 as its survey definition declares: set 'encoding: utf-8' in the"
        " definition, or ask for the file in the declared encoding"
    ]
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(1,)]


def test_a_failing_warehouse_leaves_the_file_in_the_inbox(survey_settings, make_settings):
    from diaspora.errors import WarehouseError

    settings = make_settings(warehouse_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    inbox = settings.survey_inbox_dir
    frame().to_csv(inbox / "tj_lms_2024.csv", index=False)
    with pytest.raises(WarehouseError, match="tj_lms_2024.csv, which stays in the inbox"):
        process_file(inbox / "tj_lms_2024.csv", settings)
    assert [p.name for p in inbox.iterdir()] == ["tj_lms_2024.csv"]
    assert not (inbox.parent / "quarantine").exists()


def test_upgrading_a_warehouse_from_before_0006_keeps_its_answers(
    warehouse_url, tmp_path, monkeypatch, make_settings
):
    import shutil

    make_settings(survey_min_cell=1)  # two answers per cell: the arithmetic is under test

    from diaspora.warehouse import schema

    current = schema.SQL_DIR
    before = tmp_path / "sql"
    shutil.copytree(current, before)
    later = sorted(p.name for p in (before / "migrations").glob("*.sql") if p.name >= "0006")
    for name in later:  # the warehouse as it was before 0006
        (before / "migrations" / name).unlink()
    for view in (before / "views").glob("*.sql"):  # today's views and their comments need today's columns
        view.unlink()
    from diaspora.warehouse import bi_catalog

    monkeypatch.setattr(bi_catalog, "apply_comments", lambda conn: 0)
    dialect = sa.make_url(warehouse_url).get_backend_name()
    later = [path.name for _, path in schema.migrations_for(dialect) if path.name >= "0006"]
    monkeypatch.setattr(schema, "SQL_DIR", before)
    engine = get_engine(warehouse_url)
    schema.migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO dw.dim_survey VALUES ('s', 'Survey', 'test', 'TJK', NULL, NULL, 'SYNTHETIC')"
        )
        conn.exec_driver_sql(
            "INSERT INTO dw.dim_question VALUES ('s', 'abroad', 'Abroad', 'categorical', NULL, NULL, NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO etl.survey_file VALUES"
            " (7, 's', 'f.csv', repeat('a', 64), 'csv', 2, CURRENT_TIMESTAMP)"
        )
        conn.exec_driver_sql(
            "INSERT INTO dw.fact_survey_response VALUES"
            " ('s', 7, 'r1', 'abroad', 1, NULL, '1', NULL, 3.0),"
            " ('s', 7, 'r2', 'abroad', 1, NULL, '0', NULL, 1.0)"
        )

    monkeypatch.setattr(schema, "SQL_DIR", current)
    monkeypatch.undo()  # today's SQL, views and comments
    assert schema.migrate(engine) == later
    assert later[0] == "0006_survey_response_without_key.sql"
    assert rows(
        warehouse_url, "SELECT respondent_id, category_code, weight FROM dw.fact_survey_response ORDER BY 1"
    ) == [("r1", "1", 3.0), ("r2", "0", 1.0)]
    assert rows(
        warehouse_url,
        "SELECT category_code, estimate FROM reporting.survey_estimates"
        " WHERE breakdown_question IS NULL ORDER BY 1",
    ) == [("0", 25.0), ("1", 75.0)]


def test_staging_left_by_an_interrupted_load_is_dropped_when_old(survey_settings):
    from datetime import UTC, datetime, timedelta

    from diaspora.surveys.process import pending_files
    from diaspora.surveys.staging import STAGING_PREFIX

    url = survey_settings.warehouse_url
    old = f"{STAGING_PREFIX}{datetime.now(UTC) - timedelta(days=1):%Y%m%d%H%M%S}_deadbeef"
    running = f"{STAGING_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}_cafef00d"  # another task's, in use
    with get_engine(url).begin() as conn:
        for name in (old, running):
            conn.exec_driver_sql(f"CREATE TABLE staging.{name} (respondent_id TEXT)")

    assert pending_files(survey_settings) == []
    assert staging_tables(url) == [(running,)]


def test_respondent_ids_repeated_in_different_chunks_are_named_with_their_rows(
    survey_settings, two_row_chunks
):
    inbox = survey_settings.survey_inbox_dir
    data = pd.concat([frame()] * 2, ignore_index=True).assign(hh_id=[1, 2, 3, 1, 5, 3])
    data.to_csv(inbox / "tj_lms_repeats.csv", index=False)

    result = process_file(inbox / "tj_lms_repeats.csv", survey_settings)

    assert result["status"] == "quarantined"
    # chunks are file rows 2–3, 4–5, 6–7 (row 1 is the header); every id repeats in another chunk
    assert result["reasons"] == [
        "respondent ids repeated across the file (hh_id): 2, e.g. '1' at rows [2, 5]; '3' at rows [4, 7]"
    ]
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM dw.fact_survey_response") == [(0,)]
    assert staging_tables(survey_settings.warehouse_url) == []
