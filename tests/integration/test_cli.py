"""The ``diaspora`` command as people meet it, through the real CLI in its own process: each
mistake answered with one line naming what is wrong and what to run, exit 2; ``--debug`` shows the
traceback; a read never creates a warehouse; a success prints no leak noise; ``diaspora status``
says how things stand and exits 1 when something needs a person (DuckDB, the embedded default,
with the bundled samples; Airflow's metadata in a SQLite copy of the session's migrated one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diaspora.warehouse.engine import dispose_all, get_engine
from tests.support.samples import SOURCES, load_samples, sample_settings

BIN = Path(sys.executable).parent


def _env(folder: Path, airflow_home: Path | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DIASPORA_") or k.startswith("DIASPORA_TEST")
    }
    env |= {
        "DIASPORA_DATA_DIR": str(folder / "data"),
        "DIASPORA_WAREHOUSE_URL": f"duckdb:///{folder / 'data' / 'warehouse.duckdb'}",
        "GX_ANALYTICS_ENABLED": "False",
    }
    if airflow_home is not None:
        env["AIRFLOW_HOME"] = str(airflow_home)
    return env


def diaspora(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "diaspora"), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _one_line(result: subprocess.CompletedProcess, command: str, *needles: str) -> str:
    """The mistake's answer: exit 2, nothing on stdout, one line on stderr naming it."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"diaspora {command}"), result.stderr
    assert "Traceback" not in result.stderr and "leaked" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def loaded(tmp_path, make_settings):
    """Every source's bundled sample loaded into a DuckDB warehouse (and its published copy)."""
    warehouse = f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
    load_samples(make_settings(warehouse_url=warehouse, notify_on_success="false", **sample_settings()))
    dispose_all()  # the CLI's processes open the file next
    return tmp_path


def test_without_a_warehouse_every_read_says_what_to_run_and_creates_nothing(tmp_path):
    env = _env(tmp_path)
    for command in (["report"], ["factsheet", "TJK"], ["diff", "unhcr_refugees"]):
        _one_line(diaspora(env, *command), command[0], "no warehouse at", "make demo", "diaspora migrate")
    assert not (tmp_path / "data").exists()  # nothing was created by a read
    status = diaspora(env, "status")
    assert status.returncode == 1 and "no warehouse at" in status.stdout
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_a_warehouse_not_migrated_says_run_migrate(tmp_path):
    import duckdb

    (tmp_path / "data").mkdir()
    duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb")).close()  # a file, never migrated
    env = _env(tmp_path)
    _one_line(diaspora(env, "diff", "unhcr_refugees"), "diff", "is not migrated", "run `diaspora migrate`")


def test_each_mistake_gets_one_line_and_exit_2(loaded):
    env = _env(loaded)
    _one_line(diaspora(env, "diff", "unhcr"), "diff", "unknown source 'unhcr'", "unhcr_refugees")
    _one_line(diaspora(env, "backfill", "unhcr", "x"), "backfill", "unknown source 'unhcr'")
    _one_line(diaspora(env, "diff", "unhcr_refugees"), "diff", "nothing to compare", "diaspora backfill")
    _one_line(diaspora(env, "diff", "unhcr_refugees", "99"), "diff", "has no loaded release '99'")
    _one_line(diaspora(env, "factsheet", "XXX", "TJK"), "factsheet", "unknown country code(s) XXX")
    _one_line(diaspora(env, "factsheet"), "factsheet", "name ISO3 codes")
    _one_line(diaspora(env, "factsheet", "--release", "unhcr_refugees", "TJK"), "factsheet", "SOURCE=RELEASE")
    _one_line(diaspora(env, "accept", "unhcr_refugees"), "accept", "no release of unhcr_refugees waits")
    _one_line(
        diaspora(env, "backfill", "unhcr_refugees", "1999"), "backfill", "No stored landing of release '1999'"
    )
    _one_line(diaspora(env, "report", "--years", "x"), "report", "invalid int value: 'x'", "--help")


def test_long_work_shows_progress_on_stderr_and_results_on_stdout(loaded):
    result = diaspora(_env(loaded), "factsheet", "--all", "--no-pdf")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("factsheets: ")]
    total = int(progress[0].split(" · ")[0].split("/")[1])
    assert total >= 2 and progress[-1].startswith(f"factsheets: {total}/{total} ")  # plain lines: no terminal
    assert "running" in progress[0] and "\r" not in result.stderr
    assert "factsheets and 0 PDFs" in result.stdout
    backfill = diaspora(_env(loaded), "backfill", "unhcr_refugees", "UNHCR population 2024", "--reload")
    steps = [
        line.split(" · ")[-1] for line in backfill.stderr.splitlines() if line.startswith("backfill unhcr")
    ]
    assert steps == [
        "running parse",
        "done parse",
        "running validate",
        "done validate",
        "running load",
        "done load",
    ]


def test_debug_shows_the_traceback(loaded):
    result = diaspora(_env(loaded), "--debug", "diff", "unhcr")
    assert result.returncode == 1 and "Traceback" in result.stderr and "UnknownSource" in result.stderr


def test_a_successful_backfill_prints_its_result_and_no_leak_noise(loaded):
    result = diaspora(_env(loaded), "backfill", "unhcr_refugees", "UNHCR population 2024", "--reload")
    assert result.returncode == 0, result.stderr
    assert "Loaded release UNHCR population 2024" in result.stdout
    assert "leaked" not in result.stdout + result.stderr and "nanobind" not in result.stdout + result.stderr


def _airflow_home(tmp_path: Path) -> Path:
    """A freshly migrated Airflow metadata DB (SQLite) of its own: no pool, no DAG parsed yet (the
    session's DB has both once other tests ran)."""
    home = tmp_path / "airflow"
    home.mkdir()
    migrated = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env={**os.environ, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    return home


def _findings(env: dict[str, str], *args: str) -> tuple[int, dict]:
    result = diaspora(env, "status", "--json", *args)
    return result.returncode, json.loads(result.stdout)


def test_status_says_what_needs_a_person_and_exits_accordingly(loaded):
    env = _env(loaded, _airflow_home(loaded))
    code, status = _findings(env)
    actions = {(f["area"], f["run"]) for f in status["findings"] if f["level"] == "action"}
    assert code == 1
    assert ("airflow", "diaspora pool") in actions  # without it every warehouse task waits forever
    assert any(f["area"] == "airflow" and "not parsed" in f["what"] for f in status["findings"])
    assert set(status["sources"]) == set(SOURCES)
    assert status["sources"]["unhcr_refugees"]["latest_release"] == "UNHCR population 2024"

    assert diaspora(env, "pool").returncode == 0
    assert (
        subprocess.run(
            [str(BIN / "airflow"), "dags", "reserialize"],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        ).returncode
        == 0
    )
    code, status = _findings(env)
    assert [f for f in status["findings"] if f["level"] == "action"] == [] and code == 0
    stale = [f for f in status["findings"] if f["level"] == "warning" and "days old" in f["what"]]
    assert {f["area"] for f in stale} >= {"knomad_bilateral_remittances"}  # the 2017 matrix
    assert _findings(env, "--strict")[0] == 1  # warnings fail too when asked

    # A release the revision policy holds back: the command that accepts it is named.
    with get_engine(env["DIASPORA_WAREHOUSE_URL"]).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO etl.release_diff (diff_id, source, fact_table, new_release_label,"
            " new_content_sha256, status, rows_old, rows_new, added, removed, revised, unchanged,"
            " countries_added, countries_removed, years_added, years_removed, revised_totals_count,"
            " computed_at) VALUES (999, 'unhcr_refugees',"
            " 'dw.fact_refugee_population', 'UNHCR population 2025', 'ab', 'quarantined', 4, 3, 0, 1, 0, 3,"
            " '[]', '[]', '[]', '[]', 0, now())"
        )
    dispose_all()
    code, status = _findings(env)
    assert code == 1
    held = [f for f in status["findings"] if f["area"] == "unhcr_refugees" and f["level"] == "action"]
    assert [f["run"] for f in held] == ["diaspora accept unhcr_refugees"] and "UNHCR population 2025" in held[
        0
    ]["what"]
    screen = diaspora(env, "status")
    assert screen.returncode == 1 and "→ run: diaspora accept unhcr_refugees" in screen.stdout
    assert "1 thing(s) need a person" in screen.stdout
