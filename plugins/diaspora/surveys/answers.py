"""What the warehouse keeps of a survey file, as frames: its answers in long form, the survey and
its questions, and the questions' value labels. Pure pandas: no database, no file."""

from __future__ import annotations

import json

import pandas as pd

from diaspora.surveys.checks import as_code, protect_personal_data
from diaspora.surveys.definitions import SurveyDefinition

# The columns of dw.fact_survey_response that a file fills (survey_id and file_id come at publishing).
RESPONSE_COLUMNS = (
    "respondent_id",
    "question_code",
    "answer_no",
    "numeric_value",
    "category_code",
    "text_value",
    "weight",
)


def protected_responses(
    prepared: pd.DataFrame, definition: SurveyDefinition, salt: str | None
) -> pd.DataFrame:
    """The answers of a checked chunk, personal columns dropped or hashed first, in RESPONSE_COLUMNS.

    The checked frame is protected, not prepared again: preparing never touches personal
    columns, which a definition keeps apart from its questions.
    """
    responses = to_responses(protect_personal_data(prepared, definition, salt), definition)
    return responses[list(RESPONSE_COLUMNS)]


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
            base = _one_row_per_option(base, answers)
        parts.append(base)
    responses = pd.concat(parts, ignore_index=True)
    responses["numeric_value"] = pd.to_numeric(responses["numeric_value"])
    return responses.astype({"category_code": "object", "text_value": "object"})


def _one_row_per_option(base: pd.DataFrame, answers: pd.Series) -> pd.DataFrame:
    """A multi-select answer "1;3" (or "1,3") as one row per option, numbered per respondent."""
    options = answers.fillna("").astype(str).str.split(r"[;,]")
    base = base.assign(category_code=options).explode("category_code")
    base["category_code"] = base["category_code"].str.strip()
    base = base[base["category_code"] != ""]
    base["answer_no"] = base.groupby("respondent_id").cumcount() + 1
    return base


def definition_rows(definition: SurveyDefinition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``dw.dim_survey`` and ``dw.dim_question`` that a definition describes."""
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


def labels_json(value_labels: dict[str, dict], definition: SurveyDefinition) -> str | None:
    """The questions' value labels as JSON, codes written as the warehouse writes them (1.0 → "1");
    labels of other columns (personal ones included) are not kept."""
    questions = {q.code for q in definition.questions}
    kept = {
        column: {str(as_code(code)): label for code, label in labels.items()}
        for column, labels in value_labels.items()
        if column in questions
    }
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else None
