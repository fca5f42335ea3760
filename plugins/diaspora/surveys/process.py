"""Process one survey file: match, read, check, protect, stage, publish in one transaction, then
archive — or quarantine with every reason. Nothing is lost and nothing is half-loaded; no error in
a file escapes (a warehouse that fails leaves the file in the inbox for the next try)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from diaspora.errors import ConfigError, LoadCountMismatch, WarehouseError
from diaspora.settings import Settings
from diaspora.surveys.checks import as_code, prepare_for_checks, protect_personal_data
from diaspora.surveys.definitions import SurveyDefinition, definition_for, load_definitions
from diaspora.surveys.inbox import Inbox, file_sha256
from diaspora.surveys.readers import IntakeError, check_name, open_survey_file
from diaspora.validation import validate_frame
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.load import bulk_insert, create_table_like, merge, verify_count

log = logging.getLogger(__name__)
HEADER_ROWS = 1  # row numbers in reasons are 1-based file lines: header first


def _file_row(position: int, table_format: str, offset: int) -> int:
    """The 1-based row of the file (header line included for CSV and XLSX) of a chunk position."""
    return offset + position + 1 + (HEADER_ROWS if table_format in ("csv", "xlsx") else 0)


def _reasons(report, table_format: str, offset: int = 0) -> list[str]:  # noqa: ANN001 - a ValidationReport
    reasons = []
    for failure in report.failures:
        rows = [_file_row(r, table_format, offset) for r in failure.sample_rows]
        column = failure.column or failure.kwargs.get("column_set")
        reasons.append(
            f"{failure.expectation_type} on {column}: {failure.unexpected_count} unexpected"
            + (f", e.g. {failure.sample_values}" if failure.sample_values else "")
            + (f" at rows {rows}" if rows else "")
            + (f"; observed {failure.observed_value}" if failure.observed_value is not None else "")
        )
    return reasons


def to_responses(frame: pd.DataFrame, definition: SurveyDefinition) -> pd.DataFrame:
    """One row per respondent × question (× option for multi-select), with the respondent's weight."""
    ids = frame[definition.respondent_id].astype(str)  # codes are text already (prepare_for_checks)
    weights = pd.to_numeric(frame[definition.weight])
    parts = []
    for question in definition.questions + definition.linkage_questions:
        if question.code not in frame:  # a linkage column the file lacks: nothing to link by
            continue
        answers = frame[question.code]
        base = pd.DataFrame(
            {
                "respondent_id": ids,
                "question_code": question.code,
                "answer_no": 1,
                "weight": weights,
                "numeric_value": None,
                "category_code": None,
                "text_value": None,
            }
        )
        if question.type == "numeric":
            base["numeric_value"] = pd.to_numeric(answers, errors="coerce")
        elif question.type == "categorical":
            base["category_code"] = answers
        elif question.type == "text":
            base["text_value"] = answers.astype("string")
        else:  # multi-select: "1;3" → one row per option
            options = answers.fillna("").astype(str).str.split(r"[;,]")
            base = base.assign(category_code=options).explode("category_code")
            base["category_code"] = base["category_code"].str.strip()
            base = base[base["category_code"] != ""]
            base["answer_no"] = base.groupby("respondent_id").cumcount() + 1
        parts.append(base)
    responses = pd.concat(parts, ignore_index=True)
    responses["numeric_value"] = pd.to_numeric(responses["numeric_value"])
    return responses.astype({"category_code": "object", "text_value": "object"})


def _definition_rows(definition: SurveyDefinition) -> tuple[pd.DataFrame, pd.DataFrame]:
    survey = pd.DataFrame(
        [
            {
                "survey_id": definition.survey_id,
                "title": definition.title,
                "producer": definition.producer,
                "country_code": definition.country,
                "fieldwork_start": definition.fieldwork_start,
                "fieldwork_end": definition.fieldwork_end,
                "data_note": definition.data_note,
            }
        ]
    )
    questions = pd.DataFrame(
        [
            {
                "survey_id": definition.survey_id,
                "question_code": q.code,
                "text": q.text,
                "type": q.type,
                "value_labels": json.dumps(q.values, ensure_ascii=False) if q.values else None,
                "min_value": q.min,
                "max_value": q.max,
            }
            for q in definition.questions + definition.linkage_questions
        ]
    )
    return survey, questions


MAX_REASONS = 50


STAGING_PREFIX = "survey_response__"  # + UTC time + random: staging.survey_response__20261122235903_1a2b3c4d
STALE_STAGING = timedelta(hours=6)
RESPONSE_COLUMNS = (
    "respondent_id",
    "question_code",
    "answer_no",
    "numeric_value",
    "category_code",
    "text_value",
    "weight",
)


def _stage_chunks(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, staging: str, settings: Settings
) -> dict:
    """Read, check, protect and stage the file chunk by chunk; raise IntakeError with every problem.

    Each chunk is committed to ``staging`` before the next is read, so memory holds one chunk on
    either engine (an open DuckDB transaction would keep every row of the file in memory).
    """
    file_format, chunks = open_survey_file(path, definition.format)
    suite = settings.expectations_dir / f"survey_{definition.survey_id}.json"
    reasons: list[str] = []
    value_labels: dict[str, dict] = {}
    rows_in = answers = 0
    seconds = {"read": 0.0, "validate": 0.0, "load": 0.0}  # where the time goes, for the benchmark
    clock = time.perf_counter()
    for frame, labels in chunks:
        value_labels = value_labels or labels  # the same in every chunk of a file
        seconds["read"] += time.perf_counter() - clock
        clock = time.perf_counter()
        prepared = prepare_for_checks(frame, definition)
        report = validate_frame(prepared, suite, run_name=path.name)
        reasons += _reasons(report, file_format, offset=rows_in)
        seconds["validate"] += time.perf_counter() - clock
        clock = time.perf_counter()
        with engine.begin() as conn:
            _stage_ids(conn, f"{staging}_ids", prepared, definition, file_format, rows_in)
            if not reasons:
                # The checked frame is protected, not prepared again: preparing never touches
                # personal columns, which a definition keeps apart from its questions.
                responses = to_responses(
                    protect_personal_data(prepared, definition, settings.survey_salt), definition
                )
                answers += bulk_insert(conn, staging, responses[list(RESPONSE_COLUMNS)])
        seconds["load"] += time.perf_counter() - clock
        clock = time.perf_counter()
        rows_in += len(frame)
        if len(reasons) >= MAX_REASONS:
            reasons.append(f"stopped after {rows_in} rows: more than {MAX_REASONS} problems")
            break
    with engine.connect() as conn:
        reasons += _ids_repeated_across_chunks(conn, f"{staging}_ids", definition)
    if reasons:
        raise IntakeError(*reasons)
    return {
        "rows": rows_in,
        "answers": answers,
        "format": file_format,
        "value_labels": _labels_json(value_labels, definition),
        "seconds": seconds,
    }


def _labels_json(value_labels: dict[str, dict], definition: SurveyDefinition) -> str | None:
    """The questions' value labels as JSON, codes written as the warehouse writes them (1.0 → "1");
    labels of other columns (personal ones included) are not kept."""
    questions = {q.code for q in definition.questions}
    kept = {
        column: {str(as_code(code)): label for code, label in labels.items()}
        for column, labels in value_labels.items()
        if column in questions
    }
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else None


def _stage_ids(
    conn: sa.Connection,
    ids_table: str,
    prepared: pd.DataFrame,
    definition: SurveyDefinition,
    file_format: str,
    offset: int,
) -> None:
    """Keep each chunk's respondent ids (first row of each) in the database, not in memory, to
    find ids repeated across chunks at the end; repeats within a chunk are the suite's to report."""
    if definition.respondent_id not in prepared:
        return
    ids = prepared[definition.respondent_id].dropna().drop_duplicates()
    bulk_insert(
        conn,
        ids_table,
        pd.DataFrame(
            {
                "respondent_id": ids.astype(str).to_numpy(),
                "file_row": [_file_row(p, file_format, offset) for p in ids.index],
            }
        ),
    )


def _ids_repeated_across_chunks(
    conn: sa.Connection, ids_table: str, definition: SurveyDefinition
) -> list[str]:
    repeated = f"SELECT respondent_id FROM {ids_table} GROUP BY respondent_id HAVING count(*) > 1"
    count = conn.exec_driver_sql(f"SELECT count(*) FROM ({repeated}) AS r").scalar_one()
    if not count:
        return []
    examples = conn.exec_driver_sql(
        f"SELECT respondent_id, file_row FROM {ids_table} WHERE respondent_id IN"
        f" (SELECT respondent_id FROM ({repeated}) AS r ORDER BY respondent_id LIMIT 5)"
        " ORDER BY respondent_id, file_row"
    ).all()
    rows = [
        f"{rid!r} at rows {[r for i, r in examples if i == rid]}"
        for rid in dict.fromkeys(i for i, _ in examples)
    ]
    return [
        f"respondent ids repeated across the file ({definition.respondent_id}): {count}, e.g. "
        + "; ".join(rows)
    ]


def _publish(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, sha256: str, staging: str, staged: dict
) -> int:
    """Move the staged answers into ``dw`` in one transaction: the file is there whole or not at all."""
    survey, questions = _definition_rows(definition)
    columns = ", ".join(RESPONSE_COLUMNS)
    with engine.begin() as conn:
        merge(conn, "dw.dim_survey", survey)
        merge(conn, "dw.dim_question", questions)
        file_id = conn.execute(
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
        conn.execute(
            sa.text(
                f"INSERT INTO dw.fact_survey_response (survey_id, file_id, {columns})"
                f" SELECT :s, :id, {columns} FROM {staging}"
            ),
            {"s": definition.survey_id, "id": file_id},
        )
        landed = conn.execute(
            sa.text("SELECT count(*) FROM dw.fact_survey_response WHERE file_id = :id"), {"id": file_id}
        ).scalar_one()
        verify_count("dw.fact_survey_response", staged["answers"], int(landed), f"file {path.name}")
    return file_id


def _load_file(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, sha256: str, settings: Settings
) -> dict:
    """Stage the file in its own table, publish it into ``dw``, and drop the staging table either way."""
    staging = f"staging.{STAGING_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        create_table_like(conn, staging, like="dw.fact_survey_response", columns=RESPONSE_COLUMNS)
        conn.exec_driver_sql(
            f"CREATE TABLE {staging}_ids (respondent_id TEXT NOT NULL, file_row BIGINT NOT NULL)"
        )
    try:
        staged = _stage_chunks(engine, definition, path, staging, settings)
        clock = time.perf_counter()
        file_id = _publish(engine, definition, path, sha256, staging, staged)
        staged["seconds"]["load"] += time.perf_counter() - clock
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging}_ids")
    return {"file_id": file_id, **staged}


def process_file(path: Path, settings: Settings) -> dict:
    """Load ``path`` or quarantine it; returns what happened. Raises only when the configuration
    or the warehouse fails (the file then stays in the inbox), never for what is in a file."""
    path = Path(path)
    inbox = Inbox(settings.survey_inbox_dir)
    definition = None
    try:
        check_name(path.name)
        definition = definition_for(path.name, load_definitions(settings.survey_definitions_dir))
        if definition is None:
            raise IntakeError(
                f"{path.name} matches no survey definition (file_pattern in "
                f"{settings.survey_definitions_dir.name}/*.yml) or more than one"
            )
        if any(c.handling == "hash" for c in definition.personal) and not settings.survey_salt:
            # A deployment problem, not the file's: fail the task and leave the file in the inbox.
            raise ConfigError(
                f"survey {definition.survey_id} hashes personal columns but DIASPORA_SURVEY_SALT "
                f"is not set; {path.name} stays in the inbox until it is"
            )
        engine = get_engine(settings.warehouse_url)
        sha256 = file_sha256(path)
        with engine.connect() as conn:
            loaded = conn.execute(
                sa.text("SELECT file_id FROM etl.survey_file WHERE sha256 = :h"), {"h": sha256}
            ).first()
        if loaded:
            target = inbox.archive(path)
            return {"file": path.name, "status": "duplicate", "file_id": loaded[0], "archived": str(target)}
        loaded = _load_file(engine, definition, path, sha256, settings)
        target = inbox.archive(path)
        return {"file": path.name, "status": "loaded", **loaded, "archived": str(target)}
    except IntakeError as exc:
        reasons = exc.reasons
    except (ConfigError, LoadCountMismatch):
        raise  # the deployment or the loader failed, not the file: it stays in the inbox
    except sa.exc.OperationalError as exc:
        # The warehouse failed (unreachable, out of memory, locked), not the file: the task fails,
        # its retry or the next run tries again, and the file waits in the inbox.
        raise WarehouseError(
            f"the warehouse failed while loading {path.name}, which stays in the inbox: "
            f"{str(exc.orig or exc).splitlines()[0][:300]}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - one file's failure never stops the others
        log.exception("Unexpected error on survey file %s", path.name)
        reasons = [f"unexpected error: {type(exc).__name__}: {str(exc)[:300]}"]
    target = inbox.quarantine(path, reasons, definition.survey_id if definition else None)
    log.warning("Survey file %s quarantined: %s", path.name, "; ".join(reasons))
    return {"file": path.name, "status": "quarantined", "reasons": reasons, "quarantined": str(target)}


def drop_stale_staging(engine: sa.Engine, older_than: timedelta = STALE_STAGING) -> list[str]:
    """Drop staging tables left by a load that was killed (they are dropped otherwise). Only old
    ones: a younger one may belong to a load running now in another task."""
    cutoff = f"{STAGING_PREFIX}{datetime.now(UTC) - older_than:%Y%m%d%H%M%S}"
    with engine.begin() as conn:
        names = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'staging' AND table_name LIKE :prefix AND table_name < :cutoff"
            ),
            {"prefix": f"{STAGING_PREFIX}%", "cutoff": cutoff},
        ).scalars()
        dropped = sorted(names)
        for name in dropped:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS staging.{name}")
    if dropped:
        log.warning("Dropped %d staging table(s) left by interrupted survey loads: %s", len(dropped), dropped)
    return dropped


def pending_files(settings: Settings) -> list[str]:
    """Files waiting in the inbox (paths as text, for task mapping), after dropping what an
    interrupted earlier load left in staging."""
    drop_stale_staging(get_engine(settings.warehouse_url))
    return [str(p) for p in Inbox(settings.survey_inbox_dir).pending()]


def report_quarantined(results: list[dict], context: dict | None = None) -> list[str]:
    """One alert for the quarantined files of a run (each with its path and reasons)."""
    from diaspora.alerts import Alert, send
    from diaspora.settings import get_settings

    quarantined = [r for r in results if r and r.get("status") == "quarantined"]
    if not quarantined:
        return []
    ti = (context or {}).get("ti")
    alert = Alert(
        kind="quarantine",
        severity="error",
        title=f"survey_files: {len(quarantined)} file(s) quarantined",
        what="survey files failed their checks",
        dag_id="survey_files",
        task_id=getattr(ti, "task_id", None),
        run_id=(context or {}).get("run_id"),
        source="survey_files",
        release=", ".join(r["file"] for r in quarantined),
        held_back="nothing from these files was loaded; the other files were processed",
        quarantined=[{"path": r["quarantined"], "reasons": r["reasons"]} for r in quarantined],
    )
    return send(alert, get_settings(), context)
