"""Survey intake: definitions and readers for CSV, XLSX, .sav and .dta (SYNTHETIC test files)."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diaspora.errors import ConfigError
from diaspora.surveys.definitions import FormatOptions, definition_for, load_definition
from diaspora.surveys.readers import IntakeError, read_survey_file

FRAME = pd.DataFrame({"hh_id": [1, 2, 3], "region": [1, 3, 5], "weight": [1.2, 0.8, 1.0]})
LABELS = {"region": {1: "Dushanbe", 3: "Sughd", 5: "Districts of Republican Subordination"}}
DEFINITION = """
survey_id: tj_lms_test
title: Test labour-migration household survey
producer: test
country: TJK
fieldwork_start: 2024-03-01
fieldwork_end: 2024-05-31
file_pattern: "tj_lms_*"
data_note: SYNTHETIC test definition
respondent_id: hh_id
weight: weight
personal: [{column: phone, handling: drop}]
questions:
  - {code: region, text: Region, type: categorical, values: {"1": Dushanbe, "3": Sughd}}
"""


def test_each_format_is_read_with_value_labels(tmp_path):
    FRAME.to_csv(tmp_path / "tj_lms_2024.csv", index=False, encoding="utf-8-sig")  # with a BOM
    FRAME.to_excel(tmp_path / "tj_lms_2024.xlsx", index=False)
    pyreadstat.write_sav(FRAME, str(tmp_path / "tj_lms_2024.sav"), variable_value_labels=LABELS)
    pyreadstat.write_dta(FRAME, str(tmp_path / "tj_lms_2024.dta"), variable_value_labels=LABELS)
    for extension in ("csv", "xlsx", "sav", "dta"):
        table = read_survey_file(tmp_path / f"tj_lms_2024.{extension}", FormatOptions())
        assert table.format == extension
        assert list(table.frame.columns) == ["hh_id", "region", "weight"], extension  # BOM gone
        assert [float(v) for v in table.frame["weight"]] == [1.2, 0.8, 1.0]
    assert read_survey_file(tmp_path / "tj_lms_2024.sav", FormatOptions()).value_labels["region"][5.0] == (
        "Districts of Republican Subordination"
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tj_lms_a.csv", "hh_id,region\n1,Хатлон\n".encode("cp1251"), "not valid utf-8 text"),
        ("tj_lms_b.csv", b"", "the file is empty"),
        ("tj_lms_c.xlsx", b"hh_id,region\n1,2\n", "content is csv, not what its extension .xlsx claims"),
        ("tj_lms_d.sav", b"$FL2" + b"\x00" * 40, "cannot read the sav file"),
        ("tj_lms_e.csv", b"hh_id,region\n", "no data rows"),
        ("..evil.csv", b"a\n1\n", "unsafe file name"),
        ("tj_lms_f.exe", b"MZ", "unsupported extension"),
    ],
)
def test_bad_files_raise_intake_errors_with_the_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IntakeError, match=reason):
        read_survey_file(path, FormatOptions())


def test_a_truncated_xlsx_is_an_intake_error(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook>")
    path = tmp_path / "tj_lms_g.xlsx"
    path.write_bytes(buffer.getvalue()[:-30])
    with pytest.raises(IntakeError, match="cannot read the xlsx file"):
        read_survey_file(path, FormatOptions())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400))
def test_the_csv_reader_parses_or_refuses_any_bytes(tmp_path, content):
    path = tmp_path / "tj_lms_fuzz.csv"
    path.write_bytes(content)
    try:
        table = read_survey_file(path, FormatOptions())
    except IntakeError as error:
        assert error.reasons  # refused, with a reason
    else:
        assert isinstance(table.frame, pd.DataFrame) and not table.frame.empty


def test_definitions_match_files_and_name_bad_fields(tmp_path):
    good = tmp_path / "tj_lms.yml"
    good.write_text(DEFINITION)
    definition = load_definition(good)
    assert definition.required_columns == ["hh_id", "weight", "region"]
    assert definition_for("tj_lms_2024.sav", [definition]) is definition
    assert definition_for("other.csv", [definition]) is None
    broken = tmp_path / "broken.yml"
    broken.write_text(DEFINITION.replace("type: categorical", "type: choice"))
    with pytest.raises(ConfigError, match=r"broken\.yml: questions\.0\.type"):
        load_definition(broken)
    broken.write_text(DEFINITION + "  - {code: region, text: Region again, type: text}\n")
    with pytest.raises(
        ConfigError, match=r"broken\.yml: .*question codes must be unique, repeated: \['region'\]"
    ):
        load_definition(broken)
    broken.write_text(DEFINITION.replace("column: phone", "column: region"))
    with pytest.raises(ConfigError, match=r"\['region'\] cannot be both a personal column and a question"):
        load_definition(broken)


def test_inbox_moves_files_out_and_loses_nothing(tmp_path):
    import json
    from datetime import date

    from diaspora.surveys.inbox import Inbox, file_sha256

    inbox = Inbox(tmp_path / "surveys" / "inbox")
    good, bad, again = (inbox.inbox / n for n in ("tj_lms_1.csv", "tj_lms_2.csv", "tj_lms_2.csv.part"))
    good.write_bytes(b"hh_id,weight\n1,1.0\n")
    bad.write_bytes(b"hh_id\n1\n")
    again.write_bytes(b"still arriving")
    assert [p.name for p in inbox.pending()] == ["tj_lms_1.csv", "tj_lms_2.csv"]
    digest = file_sha256(bad)

    archived = inbox.archive(good, date(2026, 11, 22))
    quarantined = inbox.quarantine(bad, ["missing required column 'weight'", "no data for question region"])
    assert archived == tmp_path / "surveys" / "archive" / "2026-11-22" / "tj_lms_1.csv"
    assert archived.read_bytes() == b"hh_id,weight\n1,1.0\n"
    report = json.loads(quarantined.with_name("tj_lms_2.csv.error.json").read_text())
    assert report["reasons"] == ["missing required column 'weight'", "no data for question region"]
    assert report["sha256"] == digest and file_sha256(quarantined) == digest

    bad.write_bytes(b"hh_id\n2\n")  # the same name again: kept apart, not overwritten
    second = inbox.quarantine(bad, ["missing required column 'weight'"])
    assert second != quarantined and quarantined.exists() and second.read_bytes() == b"hh_id\n2\n"


CHECKED_DEFINITION = (
    DEFINITION.replace(
        "personal: [{column: phone, handling: drop}]",
        "personal: [{column: phone, handling: drop}, {column: name, handling: hash}]",
    )
    + "  - {code: hh_size, text: Household size, type: numeric, min: 1, max: 30}\n"
)


def test_survey_suite_reports_each_problem_with_column_count_and_rows(tmp_path):
    import json

    from diaspora.surveys.checks import prepare_for_checks, suite_for
    from diaspora.validation import validate_frame

    path = tmp_path / "tj_lms.yml"
    path.write_text(CHECKED_DEFINITION)
    definition = load_definition(path)
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(suite_for(definition)))
    raw = pd.DataFrame(
        {  # SYNTHETIC answers with one problem of each kind
            "hh_id": ["1", "2", "2", "4", "5"],
            "weight": ["1.0", "0", "abc", "1.5", "2"],
            "region": ["1", "3", "3", "9", "1"],
            "hh_size": ["4", "5", "40", "3", "2"],
        }
    )

    report = validate_frame(prepare_for_checks(raw, definition), suite)

    failures = {(o.expectation_type, o.column): o for o in report.failures}
    assert failures[("expect_column_values_to_be_unique", "hh_id")].unexpected_count == 2
    assert failures[("expect_column_values_to_not_be_null", "_weight_value")].sample_rows == [2]  # 'abc'
    assert failures[("expect_column_values_to_be_between", "_weight_value")].sample_values == [0.0]
    region = failures[("expect_column_values_to_be_in_set", "region")]
    assert region.unexpected_count == 1 and region.sample_values == ["9"] and region.sample_rows == [3]
    assert failures[("expect_column_values_to_be_between", "_hh_size_value")].sample_values == [40.0]
    assert len(report.failures) == 5


def test_a_sav_file_checks_like_a_csv(tmp_path):
    from diaspora.surveys.checks import prepare_for_checks

    path = tmp_path / "tj_lms.yml"
    path.write_text(CHECKED_DEFINITION)
    definition = load_definition(path)
    pyreadstat.write_sav(FRAME.assign(hh_size=[4, 5, 6]), str(tmp_path / "tj_lms_x.sav"))
    prepared = prepare_for_checks(
        read_survey_file(tmp_path / "tj_lms_x.sav", FormatOptions()).frame, definition
    )
    assert prepared["region"].tolist() == ["1", "3", "5"] and prepared["hh_id"].tolist() == ["1", "2", "3"]


def test_personal_columns_never_pass_unprotected(tmp_path):
    from diaspora.surveys.checks import protect_personal_data

    path = tmp_path / "tj_lms.yml"
    path.write_text(CHECKED_DEFINITION)
    definition = load_definition(path)
    raw = pd.DataFrame(
        {
            "hh_id": ["1", "2"],
            "name": ["Firuza Rahimova", "Davron Saidov"],
            "phone": ["+992 90 123 4567", "+992 93 765 4321"],
            "weight": ["1", "1"],
        }
    )  # SYNTHETIC
    protected = protect_personal_data(raw, definition, salt="test-salt")
    assert "phone" not in protected.columns
    assert protected["name"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert (
        protect_personal_data(raw, definition, salt="test-salt")["name"].tolist()
        == protected["name"].tolist()
    )
    flat = protected.to_csv()
    assert not any(v in flat for v in ["Firuza", "Davron", "+992", "4567", "test-salt"])
    with pytest.raises(ConfigError, match="column name is to be hashed but no salt"):
        protect_personal_data(raw, definition, salt=None)
