"""A chunk of a survey file checked against its suite, and every failure as a quarantine reason
that points at rows of the file as its producer sees them (1-based, header line counted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from diaspora.surveys.checks import prepare_for_checks
from diaspora.surveys.definitions import SurveyDefinition
from diaspora.validation import ValidationReport, validate_frame

HEADER_ROWS = 1  # row numbers in reasons are 1-based file lines: header first
MAX_REASONS = 50  # enough to fix a file by; past it, reading on only costs time


def file_row(position: int, table_format: str, offset: int) -> int:
    """The 1-based row of the file (header line included for CSV and XLSX) of a chunk position."""
    return offset + position + 1 + (HEADER_ROWS if table_format in ("csv", "xlsx") else 0)


def check_chunk(
    frame: pd.DataFrame,
    definition: SurveyDefinition,
    suite: Path,
    run_name: str,
    table_format: str,
    offset: int,
) -> tuple[pd.DataFrame, list[str]]:
    """The chunk prepared for its suite, and the reasons it fails it (none when it passes)."""
    prepared = prepare_for_checks(frame, definition)
    report = validate_frame(prepared, suite, run_name=run_name)
    return prepared, reasons(report, table_format, offset=offset)


def reasons(report: ValidationReport, table_format: str, offset: int = 0) -> list[str]:
    """One line per failed expectation: column, how many, examples, and at which file rows."""
    found = []
    for failure in report.failures:
        rows = [file_row(r, table_format, offset) for r in failure.sample_rows]
        column = failure.column or failure.kwargs.get("column_set")
        found.append(
            f"{failure.expectation_type} on {column}: {failure.unexpected_count} unexpected"
            + (f", e.g. {failure.sample_values}" if failure.sample_values else "")
            + (f" at rows {rows}" if rows else "")
            + (f"; observed {failure.observed_value}" if failure.observed_value is not None else "")
        )
    return found
