"""Great Expectations, called from task code through this one module.

Suites are JSON files in ``expectations/``, reviewed like code, loaded into an ephemeral
context at run time: nothing is written to disk and the result depends only on the data and
the suite. Values a suite cannot know in advance (the previous release's row count, the codes
that exist) are passed as ``$PARAMETER`` expectation parameters.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SAMPLE_SIZE = 5
DOCS_SITE = "diaspora"


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: Any
    sample_values: list[Any]
    sample_rows: list[int] = field(default_factory=list)  # 0-based positions of unexpected rows

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if k != "batch_id")
        text = f"{self.expectation_type}({args})"
        if self.unexpected_count is not None:
            text += f": {self.unexpected_count} unexpected"
            if self.unexpected_percent is not None:
                text += f" ({self.unexpected_percent:.3g}%)"
        if self.sample_values:
            text += f", e.g. {self.sample_values}"
        if self.observed_value is not None:
            text += f"; observed {self.observed_value}"
        return text


@dataclass
class ValidationReport:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    docs_url: str | None = None  # the Data Docs page of this validation

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def failure_message(self, dataset: str) -> str:
        lines = [
            f"Validation of {dataset} failed {len(self.failures)} of {len(self.outcomes)} "
            f"expectations of suite '{self.suite}'; nothing was loaded:"
        ]
        lines += [f"  - {failure.describe()}" for failure in self.failures]
        lines.append(
            "Fix the source data or, if the change is expected, the suite in expectations/; "
            "results are in etl.validation_result" + (f" and {self.docs_url}." if self.docs_url else ".")
        )
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


def _outcome(result: dict) -> ExpectationOutcome:
    kwargs = {k: v for k, v in result.get("kwargs", {}).items() if k != "batch_id"}
    details = result.get("result") or {}
    samples = details.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        expectation_type=result["expectation_type"],
        column=kwargs.get("column"),
        kwargs=kwargs,
        success=bool(result["success"]),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        observed_value=details.get("observed_value"),
        sample_values=samples[:SAMPLE_SIZE],
        sample_rows=[
            int(i)
            for i in (details.get("partial_unexpected_index_list") or [])[:SAMPLE_SIZE]
            if isinstance(i, int | float)
        ],
    )


def validate_frame(
    frame: pd.DataFrame,
    suite_path: Path,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
    run_name: str | None = None,
) -> ValidationReport:
    """Validate ``frame`` against the suite in ``suite_path``; never raises on failed expectations.

    With ``docs_dir``, the validation is rendered into a Great Expectations Data Docs site there
    (one page per validation, kept across runs) and the report carries the page's URL.
    """
    _quiet_gx()
    import great_expectations as gx  # imported here: it takes seconds
    from great_expectations.data_context.types.base import ProgressBarsConfig

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
    described = validation.describe_dict()
    docs_url = None
    if docs_dir is not None:
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=DOCS_SITE)
        docs_url = urls[0]["site_url"] if urls else None
    return ValidationReport(
        suite=suite.name,
        success=bool(described["success"]),
        outcomes=[_outcome(r) for r in described["expectations"]],
        docs_url=docs_url,
    )
