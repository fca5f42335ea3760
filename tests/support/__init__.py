"""Helpers shared by the test suites (not tests themselves): the fake and real-data servers, the
workbook writer, the DAG loader, the Airflow cluster, the browser, and the SQL helpers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository


def sample_path(source_key: str) -> Path:
    """The bundled offline sample of a registered source, as its contract names it."""
    from diaspora.sources import registry

    return ROOT / registry()[source_key].sample


def sample_url(source_key: str) -> str:
    return f"file://{sample_path(source_key)}"
