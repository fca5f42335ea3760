"""Helpers shared by the test suites (not tests themselves): the fake and real-data servers, the
workbook writer, the DAG loader, the Airflow cluster, the browser, and the SQL helpers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
