"""Publishing a staged survey file into ``dw`` in one transaction: the file is there whole or not
at all, and its answers are counted back. A file's content (sha256) is published once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from diaspora.surveys.answers import RESPONSE_COLUMNS, definition_rows
from diaspora.surveys.definitions import SurveyDefinition
from diaspora.warehouse.load import merge, verify_count


def published_file_id(engine: sa.Engine, sha256: str) -> int | None:
    """The ``file_id`` under which this exact content was published already, if it was."""
    with engine.connect() as conn:
        loaded = conn.execute(
            sa.text("SELECT file_id FROM etl.survey_file WHERE sha256 = :h"), {"h": sha256}
        ).first()
    return loaded[0] if loaded else None


def publish(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, sha256: str, staging: str, staged: dict
) -> int:
    """Move the staged answers into ``dw`` in one transaction; return the file's ``file_id``."""
    survey, questions = definition_rows(definition)
    with engine.begin() as conn:
        merge(conn, "dw.dim_survey", survey)
        merge(conn, "dw.dim_question", questions)
        file_id = _record_file(conn, definition, path, sha256, staged)
        _copy_answers(conn, definition, file_id, staging)
        landed = conn.execute(
            sa.text("SELECT count(*) FROM dw.fact_survey_response WHERE file_id = :id"), {"id": file_id}
        ).scalar_one()
        verify_count("dw.fact_survey_response", staged["answers"], int(landed), f"file {path.name}")
    return file_id


def _record_file(
    conn: sa.Connection, definition: SurveyDefinition, path: Path, sha256: str, staged: dict
) -> int:
    """The file's ``etl.survey_file`` row (name, content hash, format, rows, value labels)."""
    return conn.execute(
        sa.text(
            "INSERT INTO etl.survey_file"
            " (survey_id, file_name, sha256, format, rows_in, value_labels, loaded_at)"
            " VALUES (:s, :f, :h, :fmt, :n, :labels, :t) RETURNING file_id"
        ),
        {
            "s": definition.survey_id,
            "f": path.name,
            "h": sha256,
            "fmt": staged["format"],
            "n": staged["rows"],
            "labels": staged["value_labels"],
            "t": datetime.now(UTC),
        },
    ).scalar_one()


def _copy_answers(conn: sa.Connection, definition: SurveyDefinition, file_id: int, staging: str) -> None:
    """Copy the staged answers into ``dw.fact_survey_response`` under the survey and the file."""
    columns = ", ".join(RESPONSE_COLUMNS)
    conn.execute(
        sa.text(
            f"INSERT INTO dw.fact_survey_response (survey_id, file_id, {columns})"
            f" SELECT :s, :id, {columns} FROM {staging}"
        ),
        {"s": definition.survey_id, "id": file_id},
    )
