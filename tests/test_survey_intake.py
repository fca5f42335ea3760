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
        ("tj_lms_a.csv", "hh_id,region\n1,Хатлон\n".encode("cp1251"), "not valid utf-8 at byte"),
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
