"""Settings: DIASPORA_* variables, their defaults, and the README table that documents them."""

from __future__ import annotations

import pydantic
import pytest

from diaspora.settings import Settings
from tests.conftest import ROOT


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


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"DIASPORA_{name.upper()}"
        for name in Settings.model_fields
        if f"`DIASPORA_{name.upper()}`" not in readme
    ]
    assert missing == []
