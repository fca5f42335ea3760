"""`make demo` as a person runs it: progress and the report, nothing else."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e
DAGS = (
    "worldbank_indicators",
    "undesa_migrant_stock",
    "unhcr_refugees",
    "knomad_bilateral_remittances",
    "survey_files",
    "diaspora_reporting",
)


def test_a_successful_demo_prints_only_progress_and_the_report(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DIASPORA_", "GX_"))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow"), "DIASPORA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    for noise in ("ERROR", "leaked", "Traceback", "Warning", "[error", "[warning"):
        assert noise not in output, f"{noise!r} in the demo's output:\n{output}"
    for dag_id in DAGS:  # one progress line per DAG run, then one per task
        assert re.search(rf"^{dag_id}\s+success\s+\d+\.\d s$", output, re.MULTILINE), dag_id
    assert re.search(r"^  load\s+success\s+\d+\.\d s$", output, re.MULTILINE)
    assert "alert sent (warning): unhcr_refugees: latest release is" in output  # the sample is old
    assert (
        "Tajikistan         2023          4,633.8           38.4       12,060.6" in output
    )  # real WDI figures
    assert "factsheets/TJK/factsheet.html" in output and "factsheets/index.html" in output
    factsheets = tmp_path / "data" / "factsheets"
    assert (factsheets / "TJK" / "factsheet.pdf").read_bytes().startswith(b"%PDF")  # the print version
    assert 'href="TJK/factsheet.pdf"' in (factsheets / "index.html").read_text()
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) < 90, "\n".join(lines)
