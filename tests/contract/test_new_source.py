"""`diaspora new-source` writes a source that passes the contract test as written, on both engines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from diaspora.errors import DiasporaError
from diaspora.sources.contract import SOURCES_DIR
from diaspora.sources.scaffold import new_source
from tests.conftest import ROOT

KEY = "probe_indicators"  # a source this test writes and removes


@pytest.fixture
def scaffolded():
    folder = SOURCES_DIR / KEY
    assert not folder.exists(), f"{folder} is left over from an interrupted run: remove it"
    try:
        yield new_source(KEY)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.airflow  # the contract test it runs builds the DAGs and uses PostgreSQL: make test only
def test_a_new_source_passes_the_contract_test_and_gets_its_dag(scaffolded):
    assert sorted(p.relative_to(SOURCES_DIR / KEY).as_posix() for p in scaffolded) == [
        "__init__.py",
        "extract.py",
        "parse.py",
        "sample/values.csv",
        "suite.json",
    ]
    contract = next(ROOT.glob("tests/**/test_source_contract.py"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(contract),
            "-k",
            f"{KEY} or dag_is_its_key",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    # The declaration, the sample on DuckDB and on PostgreSQL (skipped if none answers), every DAG.
    expected = 4 if os.environ.get("DIASPORA_REQUIRE_POSTGRES") == "1" else 3
    assert passed and int(passed.group(1)) >= expected, done.stdout[-2000:]


def test_new_source_refuses_a_bad_key_and_never_overwrites(scaffolded):
    with pytest.raises(DiasporaError, match="is not a source key"):
        new_source("Bad-Name")
    with pytest.raises(DiasporaError, match="never overwritten"):
        new_source(KEY)
    assert new_source("other_indicators", dry_run=True)[0].parent.name == "other_indicators"
    assert not (SOURCES_DIR / "other_indicators").exists()
