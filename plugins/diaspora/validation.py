"""Great Expectations, called from task code through this one module.

Suites are JSON files in ``expectations/``, reviewed like code, loaded into an ephemeral
context at run time: nothing is written to disk and the result depends only on the data and
the suite. Values a suite cannot know in advance (the previous release's row count, the codes
that exist) are passed as ``$PARAMETER`` expectation parameters.

Each expectation has a severity (Great Expectations' own ``severity`` field): ``critical`` (the
default: structure, types, keys, duplicates, negative counts, a collapse in rows) refuses the
dataset; ``warning`` (plausibility, new codes, revisions) lets it load, and the rows it finds are
flagged with the expectation's ``meta.flag``. Messages name each failed expectation, its column,
the number of failing rows and at most :data:`MAX_VALUES` unexpected values with their counts,
most frequent first — never a whole value set.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

SAMPLE_SIZE = 5
MAX_VALUES = 20  # unexpected values shown per expectation, most frequent first
MAX_LISTED = 5  # a longer list argument (a value set) is shown as its length
DOCS_SITE = "diaspora"
CRITICAL, WARNING = "critical", "warning"
DETAILED_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


def short(value: Any) -> Any:
    """A value fit for a message: long lists become '<N values>', long text is cut."""
    if isinstance(value, list | tuple | set) and len(value) > MAX_LISTED:
        return f"<{len(value)} values>"
    if isinstance(value, dict):
        return {k: short(v) for k, v in value.items()}
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: Any
    sample_values: list[Any]  # the first unexpected values, in row order
    sample_rows: list[int] = field(default_factory=list)  # 0-based positions of unexpected rows
    severity: str = CRITICAL
    flag: str | None = None  # the quality flag a warning puts on the rows it finds
    why: str | None = None
    value_counts: list[tuple[Any, int]] = field(default_factory=list)  # ≤ MAX_VALUES, most frequent first
    distinct_unexpected: int | None = None  # distinct unexpected values, of which value_counts shows the top
    # For a measure (a numeric column) the failing rows by their key say more than value counts:
    # (key, value), largest |value| first, at most MAX_VALUES.
    examples: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def columns(self) -> str | None:
        """The column (or columns) the expectation is about, for messages."""
        if self.column:
            return self.column
        listed = self.kwargs.get("column_list") or [
            self.kwargs[k] for k in ("column_A", "column_B") if k in self.kwargs
        ]
        return ", ".join(map(str, listed)) or None

    def describe(self) -> str:
        args = ", ".join(
            f"{k}={_condition(v) if k == 'row_condition' else short(v)}"
            for k, v in self.kwargs.items()
            if k not in ("batch_id", "column", "column_list", "column_A", "column_B")
        )
        text = f"[{self.severity}] {self.expectation_type} on {self.columns or 'the table'}"
        text += f" ({args})" if args else ""
        if self.unexpected_count is not None:
            text += f": {self.unexpected_count:,} failing row{'' if self.unexpected_count == 1 else 's'}"
            if self.unexpected_percent is not None:
                text += f" ({self.unexpected_percent:.3g}%)"
        if self.examples:
            shown = "; ".join(f"{key} = {display(value)}" for key, value in self.examples)
            text += f"; rows (largest first): {shown}"
            hidden = (self.unexpected_count or 0) - len(self.examples)
            if hidden > 0:
                text += f"; and {hidden:,} more rows"
        elif self.value_counts:
            shown = "; ".join(f"{display(value)} × {count:,}" for value, count in self.value_counts)
            text += f"; values (most frequent first): {shown}"
            hidden = (self.distinct_unexpected or 0) - len(self.value_counts)
            if hidden > 0:
                text += f"; and {hidden:,} more distinct values"
        elif self.sample_values:
            text += f"; e.g. {short(self.sample_values)}"
        if self.observed_value is not None:
            text += f"; observed {short(self.observed_value)}"
        if self.why:
            text += f" — {self.why}"
        return text

    def as_alert_item(self) -> dict[str, Any]:
        """JSON-friendly summary for alerts and task failures (bounded size)."""
        return {
            "expectation_type": self.expectation_type,
            "column": self.columns,
            "severity": self.severity,
            "unexpected_count": self.unexpected_count,
            "values": [[_jsonable(v), c] for v, c in self.value_counts],
            "distinct_unexpected": self.distinct_unexpected,
            "rows": [[key, _jsonable(v)] for key, v in self.examples],
            "observed_value": _jsonable(short(self.observed_value)),
            "flag": self.flag,
            "why": self.why,
        }


def display(value: Any) -> str:
    """A value for people: floats rounded (4 significant digits, or whole above 1,000), text quoted."""
    if isinstance(value, float) and np.isfinite(value) and not value.is_integer():
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(display(v) for v in value) + ")"
    return repr(value)


def _condition(condition: Any) -> str:
    """A GX row condition as 'column operator value' when it has that shape."""
    if isinstance(condition, dict) and {"column", "operator", "parameter"} <= set(condition):
        column = condition["column"]
        name = column.get("name") if isinstance(column, dict) else column
        return f"'{name} {condition['operator']} {condition['parameter']}'"
    return str(short(condition))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class ValidationReport:
    suite: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    docs_url: str | None = None  # the Data Docs page of this validation
    flagged: dict[str, np.ndarray] = field(default_factory=dict)  # flag → positions of flagged rows

    @property
    def failures(self) -> list[ExpectationOutcome]:
        """Every failed expectation, critical first."""
        failed = [o for o in self.outcomes if not o.success]
        return sorted(failed, key=lambda o: o.severity != CRITICAL)

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity == CRITICAL]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity != CRITICAL]

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings do not stop a load)."""
        return not self.critical_failures

    def _where(self, dataset: str, release: str | None) -> str:
        return f"{dataset}" + (f" release '{release}'" if release else "")

    def failure_message(self, dataset: str, release: str | None = None) -> str:
        critical = self.critical_failures
        lines = [
            f"Validation of {self._where(dataset, release)} failed {len(critical)} critical expectation(s) "
            f"of {len(self.outcomes)} in suite '{self.suite}'; nothing was loaded (the release is "
            "quarantined: its raw files stay in the landing folder):"
        ]
        lines += [f"  - {failure.describe()}" for failure in self.failures]
        lines.append(
            "Fix the source data or, if the change is expected, the suite in expectations/; "
            "results are in etl.validation_result" + (f" and {self.docs_url}." if self.docs_url else ".")
        )
        return "\n".join(lines)

    def warning_message(self, dataset: str, release: str | None = None) -> str:
        flagged = sum(len(p) for p in self.flagged.values())
        lines = [
            f"Validation of {self._where(dataset, release)}: {len(self.warnings)} warning expectation(s) "
            f"failed; the release loads and {flagged:,} value(s) are flagged (quality_flags):"
        ]
        lines += [f"  - {warning.describe()}" for warning in self.warnings]
        return "\n".join(lines)


def load_suite(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Expectation suite {path} does not exist") from exc


def _quiet_gx() -> None:
    # GX is chatty at INFO and sends usage statistics by default; neither belongs in task logs.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    details = result.result or {}
    meta = config.meta or {}
    return ExpectationOutcome(
        expectation_type=config.type,
        column=kwargs.get("column"),
        kwargs=kwargs,
        success=bool(result.success),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        observed_value=details.get("observed_value"),
        sample_values=(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
        sample_rows=[
            int(i)
            for i in (details.get("partial_unexpected_index_list") or [])[:SAMPLE_SIZE]
            if isinstance(i, int | float)
        ],
        severity=str(getattr(config.severity, "value", config.severity) or CRITICAL),
        flag=meta.get("flag"),
        why=meta.get("why"),
    )


def _value_columns(outcome: ExpectationOutcome) -> list[str]:
    if outcome.column:
        return [outcome.column]
    listed = outcome.kwargs.get("column_list") or [
        outcome.kwargs[k] for k in ("column_A", "column_B") if k in outcome.kwargs
    ]
    return list(listed)


def _value_counts(frame: pd.DataFrame, positions: np.ndarray, columns: list[str]) -> tuple[list, int]:
    """The ≤ MAX_VALUES most frequent unexpected values (tuples for several columns) and the
    number of distinct ones."""
    rows = frame.iloc[positions]
    if len(columns) == 1:
        counts = Counter(rows[columns[0]].tolist())
    else:
        counts = Counter(rows[columns].itertuples(index=False, name=None))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    return [(_python(v), int(c)) for v, c in ranked[:MAX_VALUES]], len(counts)


def _examples(frame: pd.DataFrame, positions: np.ndarray, column: str, keys: list[str]) -> list:
    """(key, value) of the failing rows with the largest |value|: for a measure, which rows fail
    says more than how often each value does."""
    rows = frame.iloc[positions]
    values = pd.to_numeric(rows[column], errors="coerce")
    order = values.abs().sort_values(ascending=False, na_position="last").index[:MAX_VALUES]
    labels = rows.loc[order, keys].astype(str).agg(" · ".join, axis=1)
    return [(label, _python(value)) for label, value in zip(labels, rows.loc[order, column], strict=True)]


def _python(value: Any) -> Any:
    """numpy scalars (also inside tuples) as Python values, for messages and JSON."""
    if isinstance(value, tuple):
        return tuple(_python(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def _detail(batch: Any, frame: pd.DataFrame, outcomes: list[ExpectationOutcome], configs: list) -> dict:
    """Re-run the failed row-level expectations once with every failing row's position: exact
    value counts for messages and the rows a warning flags. Skipped when nothing failed."""
    import great_expectations as gx

    wanted = [(o, c) for o, c in zip(outcomes, configs, strict=True) if not o.success and o.unexpected_count]
    if not wanted:
        return {}
    suite = gx.ExpectationSuite(name="failed_rows", expectations=[c for _, c in wanted])
    result = batch.validate(suite, result_format=DETAILED_FORMAT)
    detailed = {}
    for (outcome, _), detail in zip(wanted, result.results, strict=True):
        index = (detail.result or {}).get("unexpected_index_list")
        if index:
            detailed[id(outcome)] = np.asarray(index, dtype="int64")
    return detailed


def validate_frame(
    frame: pd.DataFrame,
    suite_path: Path,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    key_columns: list[str] | None = None,
) -> ValidationReport:
    """Validate ``frame`` against the suite in ``suite_path``; never raises on failed expectations.

    With ``docs_dir``, the validation is rendered into a Great Expectations Data Docs site there
    (one page per validation, kept across runs) and the report carries the page's URL. With
    ``key_columns``, failing values of a numeric column are reported with their rows' keys.
    """
    _quiet_gx()
    import great_expectations as gx  # imported here: it takes seconds
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = frame.reset_index(drop=True)  # row positions are the index GX reports
    suite_config = load_suite(suite_path)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(gx.ExpectationSuite(**suite_config))
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("whole")
    )
    actions = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE]))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=suite.name, validation_definitions=[definition], actions=actions, result_format="SUMMARY"
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters or {},
        run_id=gx.RunIdentifier(run_name=run_name or "manual"),
    )
    identifier, validation = next(iter(result.run_results.items()))
    outcomes = [_outcome(r) for r in validation.results]
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    positions = _detail(batch, frame, outcomes, [r.expectation_config for r in validation.results])
    report = ValidationReport(suite=suite.name)
    for outcome in outcomes:
        found = positions.get(id(outcome))
        if found is not None:
            columns = _value_columns(outcome)
            counts, distinct = _value_counts(frame, found, columns)
            outcome = replace(outcome, value_counts=counts, distinct_unexpected=distinct)
            if key_columns and len(columns) == 1 and is_numeric_dtype(frame[columns[0]]):
                outcome = replace(outcome, examples=_examples(frame, found, columns[0], key_columns))
            if outcome.severity != CRITICAL and outcome.flag:
                report.flagged[outcome.flag] = np.union1d(report.flagged.get(outcome.flag, []), found)
        report.outcomes.append(outcome)
    if docs_dir is not None:
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=DOCS_SITE)
        report.docs_url = urls[0]["site_url"] if urls else None
    return report
