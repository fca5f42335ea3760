"""The reporting layer computed at load (schema ``mart``), on both engines: a new release refreshes
it in the load's transaction, a value only an older release carries stays visible, an older
release loaded later hides nothing newer, and a failed refresh leaves the layer as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from diaspora import pipeline
from diaspora.warehouse import mart
from diaspora.warehouse.engine import get_engine
from tests.support import sample_path
from tests.support.sql import rows

WB_SNAPSHOT = sample_path("worldbank_indicators")
RECEIVED = "BX.TRF.PWKR.CD.DT"
TAJIKISTAN_2023 = 4_633_754_222  # the snapshot's figure (World Bank WDI)


def worldbank_release(folder: Path, lastupdated: str, scale_tjk_2023: float = 1.0, drop: tuple = ()) -> str:
    """A copy of the World Bank snapshot published as ``lastupdated``: Tajikistan's 2023 remittances
    multiplied by ``scale_tjk_2023`` (SYNTHETIC revision) and the (ISO3, year) rows of ``drop``
    left out of the remittances series. Returns its file:// base URL."""
    shutil.copytree(WB_SNAPSHOT, folder)
    for path in (folder / "country" / "all" / "indicator").glob("*.json"):
        meta, rows = json.loads(path.read_text())
        meta["lastupdated"] = lastupdated
        if path.stem == RECEIVED:
            rows = [r for r in rows if (r["countryiso3code"], int(r["date"])) not in drop]
            for row in rows:
                if (row["countryiso3code"], row["date"]) == ("TJK", "2023"):
                    row["value"] = round(row["value"] * scale_tjk_2023)
            meta["total"] = len(rows)
        path.write_text(json.dumps([meta, rows]))
    return f"file://{folder}"


def remittances(url: str, country: str, year: int) -> tuple[float, str]:
    return rows(
        url,
        "SELECT remittances_received_usd, release_label FROM reporting.remittances"
        " WHERE country_code = :c AND year = :y",
        c=country,
        y=year,
    )[0]


def current_releases(url: str) -> list[str]:
    return [
        label
        for (label,) in rows(
            url,
            "SELECT r.release_label FROM mart.current_release AS c"
            " JOIN dw.dim_source_release AS r ON r.release_id = c.release_id"
            " WHERE c.fact_table = 'dw.fact_indicator_value' ORDER BY c.release_rank",
        )
    ]


def load_worldbank(make_settings, url: str, base_url: str) -> dict:
    settings = make_settings(warehouse_url=url, worldbank_base_url=base_url)
    return pipeline.run_source("worldbank_indicators", settings)


def test_each_release_refreshes_the_layer_and_older_values_stay_where_no_newer_one_exists(
    warehouse_url, make_settings, tmp_path
):
    first = worldbank_release(tmp_path / "a", "2026-07-01")
    load_worldbank(make_settings, warehouse_url, first)
    assert remittances(warehouse_url, "TJK", 2023) == (TAJIKISTAN_2023, "2026-07-01")
    assert current_releases(warehouse_url) == ["2026-07-01"]

    # A revision (SYNTHETIC: +10 %) that also lacks Kyrgyzstan's 2019 value.
    revised = worldbank_release(tmp_path / "b", "2026-12-15", scale_tjk_2023=1.1, drop=(("KGZ", 2019),))
    load_worldbank(make_settings, warehouse_url, revised)
    assert remittances(warehouse_url, "TJK", 2023) == (round(TAJIKISTAN_2023 * 1.1), "2026-12-15")
    profile = rows(
        warehouse_url,
        "SELECT remittances_received_usd, remittances_release FROM reporting.diaspora_profile"
        " WHERE country_code = 'TJK' AND remittances_year = 2023",
    )
    assert {tuple(p) for p in profile} <= {(round(TAJIKISTAN_2023 * 1.1), "2026-12-15")}
    kgz_2016 = rows(
        warehouse_url,
        "SELECT value, release_label FROM reporting.indicator_values"
        " WHERE country_code = 'KGZ' AND year = 2019 AND indicator_code = :i",
        i=RECEIVED,
    )
    assert [label for _, label in kgz_2016] == ["2026-07-01"]  # only the older release carries it
    assert current_releases(warehouse_url) == ["2026-12-15", "2026-07-01"]
    one_value_each = rows(
        warehouse_url,
        "SELECT count(*), count(DISTINCT country_code || indicator_code || CAST(year AS VARCHAR))"
        " FROM reporting.indicator_values",
    )[0]
    assert one_value_each[0] == one_value_each[1]

    # An older release loaded last (a backfill) hides nothing newer; it covers KGZ 2019 again, so
    # the first release leaves the current set.
    backfill = worldbank_release(tmp_path / "c", "2026-09-01", scale_tjk_2023=0.5)
    load_worldbank(make_settings, warehouse_url, backfill)
    assert remittances(warehouse_url, "TJK", 2023) == (round(TAJIKISTAN_2023 * 1.1), "2026-12-15")
    assert [
        label
        for _, label in rows(
            warehouse_url,
            "SELECT value, release_label FROM reporting.indicator_values"
            " WHERE country_code = 'KGZ' AND year = 2019 AND indicator_code = :i",
            i=RECEIVED,
        )
    ] == ["2026-09-01"]
    assert current_releases(warehouse_url) == ["2026-12-15", "2026-09-01"]

    (audit,) = rows(
        warehouse_url,
        "SELECT reporting_refresh FROM etl.load_run WHERE release_label = '2026-09-01'"
        " AND status = 'success'",
    )
    refreshed = json.loads(audit[0])
    assert (
        refreshed["mart.remittances"]["rows"]
        == rows(warehouse_url, "SELECT count(*) FROM mart.remittances")[0][0]
    )
    assert refreshed["mart.current_release"]["rows"] == 2 and refreshed["mart.remittances"]["seconds"] >= 0


def test_a_failed_refresh_rolls_back_the_load_and_leaves_the_layer_as_it_was(
    warehouse_url, make_settings, tmp_path, monkeypatch
):
    load_worldbank(make_settings, warehouse_url, worldbank_release(tmp_path / "a", "2026-07-01"))
    before = rows(warehouse_url, "SELECT count(*), sum(remittances_received_usd) FROM reporting.remittances")

    real_refresh = mart.refresh_table

    def failing(conn, table):
        real_refresh(conn, table)  # the first table is rewritten, then the refresh breaks
        raise RuntimeError(f"refresh of {table} interrupted (test)")

    revised = worldbank_release(tmp_path / "b", "2026-12-15", scale_tjk_2023=1.1)
    settings = make_settings(warehouse_url=warehouse_url, worldbank_base_url=revised)
    landing = pipeline.extract("worldbank_indicators", settings)
    pipeline.parse(landing, settings)
    pipeline.validate(landing, settings)
    monkeypatch.setattr(mart, "refresh_table", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        pipeline.load(landing, settings)
    assert (
        rows(warehouse_url, "SELECT count(*), sum(remittances_received_usd) FROM reporting.remittances")
        == before
    )
    assert remittances(warehouse_url, "TJK", 2023) == (TAJIKISTAN_2023, "2026-07-01")
    assert current_releases(warehouse_url) == ["2026-07-01"]
    failed = rows(warehouse_url, "SELECT message FROM etl.load_run WHERE status = 'failed'")
    assert [m for (m,) in failed] == ["RuntimeError: refresh of mart.remittances interrupted (test)"]
    assert (
        rows(
            warehouse_url,
            "SELECT count(*) FROM dw.fact_indicator_value f JOIN dw.dim_source_release r"
            " ON r.release_id = f.release_id WHERE r.release_label = '2026-12-15'",
        )[0][0]
        == 0
    )


def test_the_migrate_step_builds_the_layer_of_a_warehouse_loaded_before_it(
    warehouse_url, make_settings, tmp_path
):
    load_worldbank(make_settings, warehouse_url, worldbank_release(tmp_path / "a", "2026-07-01"))
    with get_engine(warehouse_url).begin() as conn:  # as a warehouse upgraded from before the layer
        conn.exec_driver_sql("DELETE FROM mart.current_release")
        conn.exec_driver_sql("DELETE FROM mart.remittances")
    assert rows(warehouse_url, "SELECT count(*) FROM reporting.remittances")[0][0] == 0
    pipeline.prepare_warehouse(make_settings(warehouse_url=warehouse_url))
    assert remittances(warehouse_url, "TJK", 2023) == (TAJIKISTAN_2023, "2026-07-01")


@pytest.mark.postgres
def test_loads_of_two_sources_at_once_refresh_the_shared_table_once_each(
    postgres_url, make_settings, monkeypatch
):
    """On PostgreSQL the World Bank and UN DESA loads run at the same time (pool slots) and both
    rebuild mart.diaspora_profile: each refresh must wait for the other, not add to it."""
    import threading
    import time

    real_refresh = mart.refresh_table

    def slow_commit(conn, table):  # keeps the transaction open after rewriting the shared table
        refreshed = real_refresh(conn, table)
        if table == "mart.diaspora_profile":
            time.sleep(1.5)
        return refreshed

    monkeypatch.setattr(mart, "refresh_table", slow_commit)

    from tests.integration.test_factsheet import SNAPSHOTS

    settings = make_settings(warehouse_url=postgres_url, **SNAPSHOTS)
    pipeline.prepare_warehouse(settings)
    landings = {}
    for source in ("worldbank_indicators", "undesa_migrant_stock"):
        landings[source] = pipeline.extract(source, settings)
        pipeline.parse(landings[source], settings)
        pipeline.validate(landings[source], settings)
        pipeline.load(landings[source], settings)  # the layer holds rows; now both load again at once
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def load(landing: str) -> None:
        start.wait()
        try:
            pipeline.load(landing, settings)
        except BaseException as exc:  # reported below, with the other thread's outcome
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(landing,)) for landing in landings.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    total, keys = rows(
        postgres_url,
        "SELECT count(*), count(DISTINCT country_code || CAST(year AS VARCHAR)) FROM mart.diaspora_profile",
    )[0]
    computed = rows(postgres_url, f"SELECT count(*) FROM ({mart.definition('mart.diaspora_profile')}) AS d")[
        0
    ][0]
    assert total == keys == computed == 8  # Tajikistan and its neighbours in the sample: 8 years of stock
    tajikistan = rows(
        postgres_url,
        "SELECT remittances_received_usd FROM reporting.diaspora_profile"
        " WHERE country_code = 'TJK' AND year = 2024",
    )
    assert [r[0] for r in tajikistan] == [TAJIKISTAN_2023]  # both sources' figures in one row
