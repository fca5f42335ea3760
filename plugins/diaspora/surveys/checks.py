"""Survey checks and privacy, driven by the survey definition.

The Great Expectations suite of a survey is built from its definition (and committed to
``expectations/`` by ``diaspora surveys suites``); personal columns are dropped or replaced by
a salted hash before anything reaches the warehouse.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd

from diaspora.errors import ConfigError
from diaspora.surveys.definitions import SurveyDefinition

WEIGHT = "_weight_value"  # the weight as a number, for the suite


def suite_for(definition: SurveyDefinition) -> dict:
    """The expectation suite of a survey, as the JSON GX loads."""
    expectations = [
        {
            "type": "expect_table_columns_to_match_set",
            "kwargs": {"column_set": definition.required_columns, "exact_match": False},
        },
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": definition.respondent_id}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": definition.respondent_id}},
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": WEIGHT},
            "meta": {"why": f"weights ('{definition.weight}') are numbers"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": WEIGHT, "min_value": 0, "strict_min": True},
            "meta": {"why": f"weights ('{definition.weight}') are > 0"},
        },
    ]
    for question in definition.questions:
        if question.type == "categorical":
            expectations.append(
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": question.code, "value_set": sorted(question.values)},
                }
            )
        elif question.type == "numeric":
            expectations.append(
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {
                        "column": f"_{question.code}_value",
                        "min_value": question.min,
                        "max_value": question.max,
                    },
                    "meta": {"why": f"answers to {question.code} lie within the declared range"},
                }
            )
    return {
        "name": f"survey_{definition.survey_id}",
        "meta": {"generated_from": definition.survey_id},
        "expectations": expectations,
    }


def as_code(value: object) -> object:
    """Codes as text: 1.0 (SPSS/Stata) and '1' (CSV) are the same answer."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if re.fullmatch(r"-?\d+\.0+", text):  # "1.0" as a CSV writer prints an integer column with gaps
        return text.split(".", 1)[0]
    return text or None


def prepare_for_checks(frame: pd.DataFrame, definition: SurveyDefinition) -> pd.DataFrame:
    """Codes as text and numbers as numbers, so every format is checked the same way."""
    prepared = frame.copy()
    if definition.weight in prepared:
        prepared[WEIGHT] = pd.to_numeric(prepared[definition.weight], errors="coerce")
    for question in definition.questions:
        if question.code not in prepared:
            continue
        if question.type == "categorical":
            prepared[question.code] = prepared[question.code].map(as_code)
        elif question.type == "numeric":
            prepared[f"_{question.code}_value"] = pd.to_numeric(prepared[question.code], errors="coerce")
    if definition.respondent_id in prepared:
        prepared[definition.respondent_id] = prepared[definition.respondent_id].map(as_code)
    return prepared


def protect_personal_data(
    frame: pd.DataFrame, definition: SurveyDefinition, salt: str | None
) -> pd.DataFrame:
    """Drop personal columns, or replace them by an HMAC-SHA256 with the salt when linkage is asked."""
    protected = frame.copy()
    for personal in definition.personal:
        if personal.column not in protected:
            continue
        if personal.handling == "hash":
            if not salt:
                raise ConfigError(
                    f"survey {definition.survey_id}: column {personal.column} is to be hashed but no "
                    "salt is configured: set DIASPORA_SURVEY_SALT (a secret, never in the repo)"
                )
            protected[personal.column] = protected[personal.column].map(
                lambda v: (
                    None
                    if v is None or (isinstance(v, float) and pd.isna(v))
                    else hmac.new(salt.encode(), str(v).encode(), hashlib.sha256).hexdigest()
                )
            )
        else:
            protected = protected.drop(columns=[personal.column])
    return protected
