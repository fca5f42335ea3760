"""Settings: DIASPORA_* variables, their defaults, and the manual's page that documents them."""

from __future__ import annotations

import pydantic
import pytest

from diaspora.settings import Settings


def test_warehouse_defaults_to_duckdb_under_the_data_dir(make_settings, tmp_path):
    settings = make_settings(data_dir=tmp_path / "somewhere")
    assert settings.warehouse_url == f"duckdb:///{tmp_path / 'somewhere' / 'warehouse.duckdb'}"
    assert settings.worldbank_base_url == "https://api.worldbank.org/v2"


def test_environment_overrides(make_settings):
    settings = make_settings(warehouse_url="postgresql+psycopg://u:p@db:5432/w", http_max_retries=7)
    assert settings.warehouse_url == "postgresql+psycopg://u:p@db:5432/w"
    assert settings.http_max_retries == 7


def test_invalid_values_name_the_field(monkeypatch):
    monkeypatch.setenv("DIASPORA_HTTP_MAX_RETRIES", "many")
    with pytest.raises(pydantic.ValidationError, match="http_max_retries"):
        Settings()


def test_the_docs_document_every_setting():
    """The configuration page of the manual (docs/, generated at build time) has a row for every
    setting, with a description from the code or a note."""
    from diaspora.docs_site import configuration_page

    settings_table = configuration_page().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split(" | ", 1)[0].removeprefix("| "): line.rstrip().removesuffix(" |").rsplit(" | ", 1)[1]
        for line in settings_table.splitlines()
        if line.startswith("| `DIASPORA_")
    }
    described = {variable.strip("`") for variable, description in rows.items() if description.strip()}
    missing = [
        f"DIASPORA_{name.upper()}"
        for name in Settings.model_fields
        if f"DIASPORA_{name.upper()}" not in described
    ]
    assert missing == []


def test_duckdb_gets_the_configured_memory_limit_unless_its_url_names_one(make_settings, tmp_path):
    import duckdb

    from diaspora.warehouse.engine import get_engine

    make_settings(duckdb_memory_limit="300MB")

    def limit(url: str) -> str:
        with get_engine(url).connect() as conn:
            return conn.exec_driver_sql("SELECT current_setting('memory_limit')").scalar_one()

    def duckdb_says(setting: str) -> str:  # DuckDB's own rendering of a limit, as the oracle
        sql = "SELECT current_setting('memory_limit')"
        return duckdb.connect(config={"memory_limit": setting}).execute(sql).fetchall()[0][0]

    assert limit(f"duckdb:///{tmp_path / 'a.duckdb'}") == duckdb_says("300MB")
    assert limit(f"duckdb:///{tmp_path / 'b.duckdb'}?memory_limit=200MB") == duckdb_says("200MB")
    with pytest.raises(pydantic.ValidationError, match="duckdb_memory_limit"):
        make_settings(duckdb_memory_limit="lots")


def test_the_warehouse_pool_has_one_slot_on_duckdb_and_several_on_postgresql(make_settings):
    assert make_settings(warehouse_url="duckdb:///w.duckdb").pool_slots == 1
    assert make_settings(warehouse_url="postgresql+psycopg://h/db").pool_slots == 8
    assert make_settings(warehouse_url="postgresql+psycopg://h/db", warehouse_pool_slots=3).pool_slots == 3
    with pytest.raises(ValueError, match="DuckDB allows one process at a time"):
        make_settings(warehouse_url="duckdb:///w.duckdb", warehouse_pool_slots=4).pool_slots  # noqa: B018
