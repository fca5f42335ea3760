"""Survey files a broken or hostile producer could drop: bounded before they are read, taken only
once complete, never through a link, set aside after killing their worker, and never quarantined
for what the warehouse or the disk did (SYNTHETIC files; real DuckDB and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile

import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.errors import InboxError, WarehouseError
from diaspora.surveys.inbox import Inbox, InboxRefused
from diaspora.surveys.process import pending_files, process_file
from diaspora.warehouse.engine import dispose_all, get_engine
from tests.integration.test_survey_files import build_survey_settings, frame
from tests.support.sql import rows


@pytest.fixture
def survey_settings(make_settings, warehouse_url, tmp_path):
    return build_survey_settings(make_settings, warehouse_url, tmp_path)


def _quarantine_report(settings, name: str) -> str:
    return (settings.survey_inbox_dir.parent / "quarantine" / f"{name}.error.json").read_text()


def test_a_zip_bomb_is_quarantined_before_it_is_expanded(survey_settings):
    path = survey_settings.survey_inbox_dir / "tj_lms_bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(64):
                member.write(b"\0" * (1 << 20))  # 64 MiB of zeros: a few hundred KiB compressed

    started = time.perf_counter()
    result = process_file(path, survey_settings)

    assert result["status"] == "quarantined"
    assert "more than DIASPORA_SURVEY_MAX_EXPANSION (100): a zip bomb?" in result["reasons"][0]
    assert time.perf_counter() - started < 10
    assert not path.exists() and "zip bomb" in _quarantine_report(survey_settings, "tj_lms_bomb.xlsx")


def test_a_million_column_header_and_too_many_columns_are_refused_by_count(survey_settings):
    inbox = survey_settings.survey_inbox_dir
    (inbox / "tj_lms_wide.csv").write_text(
        ",".join(f"c{i}" for i in range(3000)) + "\n" + "1," * 2999 + "1\n"
    )
    (inbox / "tj_lms_huge.csv").write_text("a," * 1_000_000 + "a\n1\n")

    wide = process_file(inbox / "tj_lms_wide.csv", survey_settings)
    huge = process_file(inbox / "tj_lms_huge.csv", survey_settings)

    assert wide["reasons"] == ["the header has 3,000 columns, more than DIASPORA_SURVEY_MAX_COLUMNS (2,000)"]
    assert huge["reasons"] == ["the header line is longer than 1,048,576 bytes: not a survey table"]


def test_files_beyond_the_size_and_row_limits_are_refused(make_settings, survey_settings):
    inbox = survey_settings.survey_inbox_dir
    frame().to_csv(inbox / "tj_lms_rows.csv", index=False)
    settings = make_settings(survey_max_rows=2, survey_max_bytes=10_000)
    (inbox / "tj_lms_big.csv").write_text("hh_id\n" + "1\n" * 6000)

    assert process_file(inbox / "tj_lms_rows.csv", settings)["reasons"] == [
        "the file has more than 2 data rows (DIASPORA_SURVEY_MAX_ROWS)"
    ]
    assert process_file(inbox / "tj_lms_big.csv", settings)["reasons"] == [
        "the file has 12,006 bytes, more than DIASPORA_SURVEY_MAX_BYTES (10,000)"
    ]


def test_a_file_still_being_copied_waits_until_it_settles(make_settings, survey_settings):
    settings = make_settings(survey_settle_seconds=60)
    path = settings.survey_inbox_dir / "tj_lms_2024.csv"
    text = frame().to_csv(index=False)
    path.write_text(text[: len(text) // 2])  # half of it so far, written just now

    assert pending_files(settings) == []
    assert process_file(path, settings)["status"] == "waiting"
    assert path.exists() and rows(settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(0,)]

    path.write_text(text)  # the copy completes; a minute later nothing has touched it
    os.utime(path, (time.time() - 61, time.time() - 61))
    assert pending_files(settings) == [str(path)]
    assert process_file(path, settings)["status"] == "loaded"


def test_links_and_paths_outside_the_inbox_are_neither_read_nor_moved(survey_settings, tmp_path):
    outside = tmp_path / "outside" / "tj_lms_secret.csv"
    outside.parent.mkdir()
    frame().to_csv(outside, index=False)
    link = survey_settings.survey_inbox_dir / "tj_lms_link.csv"
    link.symlink_to(outside)
    old = time.time() - 600
    os.utime(link, (old, old), follow_symlinks=False)

    assert pending_files(survey_settings) == []
    with pytest.raises(InboxRefused, match="is a link"):
        process_file(link, survey_settings)
    with pytest.raises(InboxRefused, match="is not a file of the survey inbox"):
        process_file(outside, survey_settings)
    assert outside.exists() and link.is_symlink()
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(0,)]


KILLER = """
import os, signal, sys
from diaspora.settings import get_settings
from diaspora.surveys import process

def killed(*_args, **_kwargs):  # the worker dies mid-load: killed, or out of memory
    os.kill(os.getpid(), signal.SIGKILL)

process._load_file = killed
process.process_file(sys.argv[1], get_settings())
"""


def test_a_file_that_kills_its_worker_is_quarantined_after_the_attempts(make_settings, survey_settings):
    settings = make_settings(survey_max_attempts=2)
    path = settings.survey_inbox_dir / "tj_lms_2024.csv"
    frame().to_csv(path, index=False)

    dispose_all()  # DuckDB: one process at a time holds the file, and the worker is another
    for _ in range(2):
        killed = subprocess.run([sys.executable, "-c", KILLER, str(path)], env=os.environ.copy(), timeout=120)
        assert killed.returncode == -9 and path.exists()  # the worker is gone; the file waits
    result = process_file(path, settings)

    assert result["status"] == "quarantined"
    assert "2 earlier attempts ended with the worker gone" in result["reasons"][0]
    assert list(Inbox(settings.survey_inbox_dir).attempts_dir.iterdir()) == []


def test_a_failed_archive_after_publish_keeps_the_file_and_the_next_run_archives_it(survey_settings):
    path = survey_settings.survey_inbox_dir / "tj_lms_2024.csv"
    frame().to_csv(path, index=False)
    archive = survey_settings.survey_inbox_dir.parent / "archive"
    archive.write_text("a file where the archive folder should be")  # the move cannot happen

    with pytest.raises(InboxError, match="is published .* but could not be moved to the archive"):
        process_file(path, survey_settings)
    assert path.exists() and not (survey_settings.survey_inbox_dir.parent / "quarantine").exists()

    archive.unlink()
    again = process_file(path, survey_settings)
    assert again["status"] == "duplicate" and not path.exists()
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(1,)]


def test_a_driver_error_mid_publish_leaves_the_file_in_the_inbox(survey_settings, monkeypatch):
    if not survey_settings.warehouse_url.startswith("postgresql"):
        pytest.skip("the warehouse connection is cut on the PostgreSQL server")
    from diaspora.surveys import process

    real_publish = process.publish

    def publish_on_a_dropped_connection(engine, *args):  # noqa: ANN001, ANN202
        with engine.connect() as conn:  # the server ends the session, as a restart or failover does
            conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        return real_publish(engine, *args)

    monkeypatch.setattr(process, "publish", publish_on_a_dropped_connection)
    path = survey_settings.survey_inbox_dir / "tj_lms_2024.csv"
    frame().to_csv(path, index=False)

    with pytest.raises(WarehouseError, match="stays in the inbox: OperationalError"):
        process_file(path, survey_settings)
    assert path.exists() and not (survey_settings.survey_inbox_dir.parent / "quarantine").exists()
    assert rows(survey_settings.warehouse_url, "SELECT count(*) FROM etl.survey_file") == [(0,)]
    monkeypatch.setattr(process, "publish", real_publish)
    assert process_file(path, survey_settings)["status"] == "loaded"  # the retry loads it


def test_survey_cells_below_the_minimum_count_are_suppressed(make_settings, survey_settings):
    """SYNTHETIC 12-respondent file: 11 say a member works abroad, 1 says none; that one answer's
    cell (and every regional breakdown with fewer than 10 answers) shows no figure."""
    settings = make_settings(survey_min_cell=10)
    pipeline.migrate(get_engine(settings.warehouse_url))  # the deploy bakes the minimum into the view
    path = settings.survey_inbox_dir / "tj_lms_2024.csv"
    twelve = pd.DataFrame(
        {
            "hh_id": range(1, 13),
            "region": [1] * 12,
            "abroad": [1] * 11 + [0],
            "remit_usd": [500.0] * 12,
            "weight": [1.0] * 12,
            "name": ["SYNTHETIC"] * 12,
            "phone": [f"+992 90 000 00{i:02d}" for i in range(12)],
        }
    )
    twelve.to_csv(path, index=False)
    assert process_file(path, settings)["status"] == "loaded"

    overall = {
        category: (estimate, suppressed)
        for category, estimate, suppressed in rows(
            settings.warehouse_url,
            "SELECT category_code, estimate, suppressed FROM reporting.survey_estimates"
            " WHERE question_code = 'abroad' AND breakdown_question IS NULL",
        )
    }
    assert overall["1"][1] is False and overall["1"][0] == pytest.approx(100 * 11 / 12)
    assert overall["0"] == (None, True)
    small = rows(
        settings.warehouse_url,
        "SELECT count(*) FROM reporting.survey_estimates WHERE unweighted_n < 10 AND estimate IS NOT NULL",
    )
    assert small == [(0,)]
