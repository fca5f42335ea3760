"""Survey definitions: YAML files, one per survey, validated; errors name the file and the field."""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from diaspora.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Question(_Strict):
    code: str
    text: str
    type: Literal["categorical", "numeric", "text", "multi_select"]
    values: dict[str, str] = {}  # allowed codes → labels (categorical, multi_select)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _values_for_categories(self) -> Question:
        if self.type in ("categorical", "multi_select") and not self.values:
            raise ValueError(f"question {self.code}: a {self.type} question needs 'values'")
        return self


class PersonalColumn(_Strict):
    column: str
    handling: Literal["drop", "hash"] = "drop"


class FormatOptions(_Strict):
    delimiter: str = ","
    encoding: str = "utf-8"
    sheet: str | int = 0


class SurveyDefinition(_Strict):
    survey_id: str
    title: str
    producer: str
    country: str
    fieldwork_start: date
    fieldwork_end: date
    file_pattern: str
    data_note: str  # says whether the data are real (with source) or synthetic
    format: FormatOptions = FormatOptions()
    respondent_id: str
    weight: str
    personal: list[PersonalColumn] = []
    questions: list[Question]

    @model_validator(mode="after")
    def _unique_codes(self) -> SurveyDefinition:
        codes = [q.code for q in self.questions]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"question codes must be unique, repeated: {repeated}")
        if clash := {p.column for p in self.personal} & set(codes):
            raise ValueError(f"{sorted(clash)} cannot be both a personal column and a question")
        codes += [p.column for p in self.personal]
        if overlap := {self.respondent_id, self.weight} & set(codes):
            raise ValueError(
                f"{sorted(overlap)} is the respondent id or weight and also a question or personal column"
            )
        return self

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatch(file_name, self.file_pattern)

    @property
    def linkage_questions(self) -> list[Question]:
        """Personal columns kept as a salted hash: stored as text answers so files can be linked."""
        return [
            Question(code=p.column, text=f"{p.column}, salted HMAC-SHA256 for linkage", type="text")
            for p in self.personal
            if p.handling == "hash"
        ]

    @property
    def required_columns(self) -> list[str]:
        return [self.respondent_id, self.weight, *(q.code for q in self.questions)]


def load_definition(path: Path) -> SurveyDefinition:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return SurveyDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = [
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}" for e in exc.errors()
            )
        ]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def load_definitions(directory: Path) -> list[SurveyDefinition]:
    definitions = [load_definition(p) for p in sorted(Path(directory).glob("*.yml"))]
    ids = [d.survey_id for d in definitions]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{directory}: survey ids must be unique, got {ids}")
    return definitions


def definition_for(file_name: str, definitions: list[SurveyDefinition]) -> SurveyDefinition | None:
    matching = [d for d in definitions if d.matches(file_name)]
    return matching[0] if len(matching) == 1 else None
