"""On the embedded default (DuckDB) readers read the published copy of the reporting layer, so a
BI session never blocks a DAG and never sees a half-loaded release: read here, as a BI tool reads
(a read-only DuckDB connection), again and again while another process loads releases into the
warehouse; every read succeeds and sees a whole layer, and the copy was swapped under them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from diaspora.warehouse.engine import dispose_all
from diaspora.warehouse.published import reading_url
from tests.support.samples import load_samples, sample_settings

WRITES = 6  # releases loaded by the writer while the test reads


@pytest.fixture
def loaded(tmp_path, make_settings):
    settings = make_settings(
        warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        notify_on_success="false",
        **sample_settings(),
    )
    load_samples(settings)
    dispose_all()
    return settings


def _layer(path: str) -> tuple[int, int, float]:
    """What a BI tool sees: rows of two views and the Tajik emigrants (one consistent snapshot)."""
    with duckdb.connect(path, read_only=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM reporting.remittances),"
            " (SELECT count(*) FROM reporting.migrant_stock), (SELECT max(emigrants)"
            " FROM reporting.diaspora_profile WHERE country_code = 'TJK' AND year = 2024)"
        ).fetchone()


def test_a_reader_reads_the_published_copy_while_another_process_loads(loaded):
    copy = str(loaded.reporting_copy_path)
    assert reading_url(loaded).endswith("warehouse_reporting.duckdb?access_mode=read_only")
    before = _layer(copy)
    assert before[0] > 0 and before[1] > 0 and before[2] == 514478
    writer = textwrap.dedent(
        f"""
        from diaspora import pipeline
        for _ in range({WRITES}):  # the same sample release, loaded again and again: each load publishes
            result = pipeline.backfill("undesa_migrant_stock", "IMS 2024", reload=True)
            assert not result["skipped"]
        """
    )
    env = {
        **os.environ,
        "DIASPORA_WAREHOUSE_URL": loaded.warehouse_url,
        "DIASPORA_DATA_DIR": str(loaded.data_dir),
        "DIASPORA_NOTIFY_ON_SUCCESS": "false",
    }
    process = subprocess.Popen([sys.executable, "-c", writer], env=env, stderr=subprocess.PIPE, text=True)
    seen, copies = [], set()
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        seen.append(_layer(copy))  # never blocked by the writer, never an error
        copies.add(os.stat(copy).st_ino)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors[-2000:]
    seen.append(_layer(copy))
    assert len(seen) > WRITES and set(seen) == {before}  # every read whole: the same layer each time
    assert len(copies) > 1  # the copy was swapped while it was being read
    # The warehouse itself was the writer's all along: a second process could not have opened it.
    with pytest.raises(duckdb.IOException):
        held = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import duckdb, time; c = duckdb.connect({loaded.warehouse_url[10:]!r}); time.sleep(5)",
            ]
        )
        time.sleep(2)
        try:
            duckdb.connect(loaded.warehouse_url[10:], read_only=True)
        finally:
            held.kill()
            held.wait()
