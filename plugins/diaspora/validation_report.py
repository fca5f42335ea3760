"""The validation report: every row of ``etl.validation_result`` on one page that needs no network.

Great Expectations' Data Docs load Bootstrap, jQuery, bootstrap-table and Vega from public CDNs:
offline (these machines, an air-gapped deploy) they open unstyled and their list of validations
never renders. This page is the project's own: its CSS is inline, nothing is fetched from anywhere
(no script, font, image or style sheet), and the results are plain HTML tables, shown with
JavaScript off. A small inline script only measures the drawn page for its tests.

One section per source, one per release in it (newest first), one table per validation run:
each expectation with its severity, result, unexpected count and the failing values the table
stores (the most frequent ones with their counts, or the first ones). The release's publisher,
dataset and licence come from ``dw.dim_source_release``, what happened to it from ``etl.load_run``.

The warehouse is read read-only (DuckDB opened ``read_only``, PostgreSQL in read-only
transactions); a DuckDB file that does not exist is never created.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from diaspora.errors import UsageError, WarehouseError
from diaspora.settings import PROJECT_ROOT, Settings, get_settings
from diaspora.warehouse.engine import get_engine, safe_url

TEMPLATE = PROJECT_ROOT / "plugins" / "diaspora" / "templates" / "validation_report.html.j2"
CRITICAL, WARNING = "critical", "warning"

# What the report reads, by table: a warehouse without them is not migrated.
COLUMNS = {
    ("etl", "validation_result"): (
        "result_id",
        "source",
        "suite",
        "dag_id",
        "run_id",
        "content_sha256",
        "release_label",
        "expectation_type",
        "column_name",
        "kwargs_json",
        "success",
        "unexpected_count",
        "unexpected_percent",
        "observed_value",
        "sample_values",
        "validated_at",
        "severity",
    ),
    ("etl", "load_run"): (
        "load_id",
        "source",
        "release_id",
        "release_label",
        "content_sha256",
        "status",
        "rows_loaded",
        "started_at",
        "finished_at",
    ),
    ("dw", "dim_source_release"): (
        "release_id",
        "source",
        "publisher",
        "dataset",
        "release_label",
        "release_date",
        "url",
        "content_sha256",
        "fetched_at",
        "licence",
    ),
}
# Arguments that name the column(s), shown in a column of their own.
_COLUMN_ARGUMENTS = ("column", "column_list", "column_A", "column_B", "batch_id")
_MAX_LISTED = 5  # a longer list argument (a value set) is shown as its length


# --- what the page shows ----------------------------------------------------------------------------


@dataclass
class Result:
    """One row of ``etl.validation_result``, with its values as people read them."""

    result_id: int
    expectation_type: str
    column: str | None
    arguments: str
    success: bool
    severity: str | None
    unexpected: str  # "6 (0.102%)", or "" when the expectation counts no rows
    unexpected_count: int | None
    observed: str
    failing_values: list[tuple[str, int | None]]  # (value, count), as stored: at most 20

    @property
    def order(self) -> tuple[int, int]:
        """Failures first, critical before warning; then the suite's order."""
        rank = {CRITICAL: 0, WARNING: 1}.get(self.severity or "", 2) if not self.success else 3
        return rank, self.result_id


@dataclass
class Run:
    """One validation of a release: the rows one ``validate`` step wrote, at one time."""

    validated_at: datetime
    suite: str
    dag_id: str | None
    run_id: str | None
    results: list[Result] = field(default_factory=list)
    outcome: dict | None = None  # the etl.load_run row a refused or withheld validation wrote

    @property
    def failed_critical(self) -> int:
        return sum(1 for r in self.results if not r.success and r.severity == CRITICAL)

    @property
    def failed_warning(self) -> int:
        return sum(1 for r in self.results if not r.success and r.severity == WARNING)

    @property
    def failed_other(self) -> int:
        """Failures whose severity the table does not record (rows older than its column)."""
        return sum(1 for r in self.results if not r.success and r.severity not in (CRITICAL, WARNING))

    @property
    def verdict(self) -> str:
        if self.failed_critical or self.failed_other:
            return "failed"
        return "passed with warnings" if self.failed_warning else "passed"


@dataclass
class Release:
    """One release of one source, as the validations named it (label and content hash)."""

    source: str
    label: str | None
    content_sha256: str | None
    about: dict | None  # its dw.dim_source_release row: only a release that was loaded has one
    load: dict | None  # the latest etl.load_run row of this content
    runs: list[Run] = field(default_factory=list)  # newest first

    @property
    def name(self) -> str:
        return self.label or "(unlabelled)"

    @property
    def anchor(self) -> str:
        return _anchor(f"{self.source}-{self.label or ''}-{(self.content_sha256 or '')[:12]}")

    @property
    def latest(self) -> Run:
        return self.runs[0]

    @property
    def results(self) -> int:
        return sum(len(run.results) for run in self.runs)


@dataclass
class Source:
    key: str
    publisher: str | None
    dataset: str | None
    releases: list[Release]  # newest validation first

    @property
    def anchor(self) -> str:
        return _anchor(self.key)


# --- reading the warehouse --------------------------------------------------------------------------


@contextmanager
def read_only(url: str) -> Iterator[sa.Connection]:
    """A connection that reads the warehouse and cannot write it; a :class:`UsageError` saying what
    to run when there is no warehouse (a DuckDB file is never created) or it is not migrated."""
    parsed = sa.make_url(url)
    where = safe_url(url)
    if parsed.get_backend_name() == "duckdb":
        with _duckdb_read_only(url, parsed.database) as conn:
            _require_schema(conn, where)
            yield conn
        return
    try:
        conn = get_engine(url).connect()
    except sa.exc.OperationalError as exc:
        raise WarehouseError(f"cannot connect to the warehouse {where}: {_first_line(exc)}") from exc
    with conn:
        conn.execution_options(postgresql_readonly=True)  # every transaction READ ONLY
        _require_schema(conn, where)
        yield conn


@contextmanager
def _duckdb_read_only(url: str, database: str | None) -> Iterator[sa.Connection]:
    if database in (None, "", ":memory:"):
        raise UsageError(
            f"{safe_url(url)} is an in-memory DuckDB, which holds no validation results: point "
            "DIASPORA_WAREHOUSE_URL at the warehouse file"
        )
    if not Path(database).is_file():
        raise UsageError(
            f"no warehouse at {database}: run `make demo` (the bundled samples) or `diaspora migrate` "
            "and the DAGs, then build the validation report again"
        )
    engine = sa.create_engine(url, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            text = _first_line(exc)
            if "different configuration" not in text:
                busy = "lock" in text.lower()
                raise WarehouseError(
                    f"cannot open the warehouse {database} read-only: {text}"
                    + ("; a load holds it: build the report again when it has finished" if busy else "")
                ) from exc
            # This process holds the file already (DuckDB opens one file one way per process):
            # read through that connection; only SELECTs follow.
            conn = get_engine(url).connect()
        with conn:
            yield conn
    finally:
        engine.dispose()


def _require_schema(conn: sa.Connection, where: str) -> None:
    found = {
        (row.table_schema, row.table_name, row.column_name)
        for row in conn.execute(
            sa.text(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns"
                " WHERE table_schema IN ('etl', 'dw')"
                " AND table_name IN ('validation_result', 'load_run', 'dim_source_release')"
            )
        )
    }
    missing = [
        f"{schema}.{table}.{column}"
        for (schema, table), columns in COLUMNS.items()
        for column in columns
        if (schema, table, column) not in found
    ]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise UsageError(
            f"the warehouse {where} is not migrated (it has no {shown}): run `diaspora migrate` "
            "(or `make demo` for the bundled samples)"
        )


def _rows(conn: sa.Connection, sql: str) -> list[dict]:
    return [dict(row._mapping) for row in conn.execute(sa.text(sql))]


def read_sources(conn: sa.Connection) -> list[Source]:
    """Every validation result, grouped by source, release and run."""
    columns = ", ".join(COLUMNS[("etl", "validation_result")])
    results = _rows(conn, f"SELECT {columns} FROM etl.validation_result ORDER BY result_id")
    about = {
        (r["source"], r["content_sha256"]): r
        for r in _rows(
            conn, "SELECT " + ", ".join(COLUMNS[("dw", "dim_source_release")]) + " FROM dw.dim_source_release"
        )
    }
    loads = _rows(
        conn, "SELECT " + ", ".join(COLUMNS[("etl", "load_run")]) + " FROM etl.load_run ORDER BY load_id"
    )
    latest_load = {(r["source"], r["content_sha256"]): r for r in loads if r["content_sha256"]}

    releases: dict[tuple, Release] = {}
    runs: dict[tuple, Run] = {}
    for row in results:
        release_key = (row["source"], row["content_sha256"], row["release_label"])
        release = releases.get(release_key)
        if release is None:
            content = (row["source"], row["content_sha256"])
            release = releases[release_key] = Release(
                row["source"],
                row["release_label"],
                row["content_sha256"],
                about.get(content),
                latest_load.get(content),
            )
        run_key = (*release_key, row["suite"], row["validated_at"], row["dag_id"], row["run_id"])
        run = runs.get(run_key)
        if run is None:
            run = runs[run_key] = Run(_utc(row["validated_at"]), row["suite"], row["dag_id"], row["run_id"])
            run.outcome = _outcome_of(run, row["source"], loads)
            release.runs.append(run)
        run.results.append(_result(row))

    for run in runs.values():
        run.results.sort(key=lambda r: r.order)
    by_source: dict[str, list[Release]] = {}
    for release in releases.values():
        release.runs.sort(key=lambda run: run.validated_at, reverse=True)
        by_source.setdefault(release.source, []).append(release)
    sources = []
    for key in sorted(by_source):
        listed = sorted(by_source[key], key=lambda r: r.latest.validated_at, reverse=True)
        known = next((r.about for r in listed if r.about), None) or {}
        sources.append(Source(key, known.get("publisher"), known.get("dataset"), listed))
    return sources


def _outcome_of(run: Run, source: str, loads: list[dict]) -> dict | None:
    """The load run a refused or withheld validation recorded: it names no content, but it began
    before the validation and was written after it."""
    for load in reversed(loads):
        if load["source"] == source and not load["content_sha256"]:
            if _utc(load["started_at"]) <= run.validated_at <= _utc(load["finished_at"]):
                return load
    return None


def _result(row: dict) -> Result:
    count, percent = row["unexpected_count"], row["unexpected_percent"]
    unexpected = "" if count is None else f"{count:,}"
    if count is not None and percent is not None:
        unexpected += f" ({percent:.3g}%)"
    return Result(
        result_id=row["result_id"],
        expectation_type=row["expectation_type"],
        column=row["column_name"],
        arguments=_arguments(row["kwargs_json"]),
        success=bool(row["success"]),
        severity=row["severity"],
        unexpected=unexpected,
        unexpected_count=count,
        observed=_observed(row["observed_value"]),
        failing_values=_failing_values(row["sample_values"]),
    )


# --- values as people read them ------------------------------------------------------------------


def _json(text: str | None) -> Any:
    """Stored JSON text as a value; text that is not JSON stays as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _value(value: Any) -> str:
    """A value as the alerts show it: floats rounded, text quoted, long lists as their length."""
    from diaspora.validation import display

    if isinstance(value, list) and len(value) > _MAX_LISTED:
        return f"<{len(value)} values>"
    if isinstance(value, dict):
        return json.dumps({k: _short(v) for k, v in value.items()}, ensure_ascii=False, default=str)
    return display(value)


def _short(value: Any) -> Any:
    if isinstance(value, list) and len(value) > _MAX_LISTED:
        return f"<{len(value)} values>"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value


def _arguments(kwargs_json: str) -> str:
    kwargs = _json(kwargs_json)
    if not isinstance(kwargs, dict):
        return str(kwargs or "")
    shown = []
    for name, value in kwargs.items():
        if name in _COLUMN_ARGUMENTS:
            continue
        if name == "row_condition" and isinstance(value, dict) and {"column", "operator"} <= set(value):
            column = value["column"].get("name") if isinstance(value["column"], dict) else value["column"]
            shown.append(f"where {column} {value['operator']} {_value(value.get('parameter'))}")
        else:
            shown.append(f"{name}={_value(value)}")
    return ", ".join(shown)


def _observed(observed_json: str | None) -> str:
    """What the expectation measured; a whole number (a row count) with thousands separators."""
    value = _json(observed_json)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else _value(value)


def _failing_values(sample_json: str | None) -> list[tuple[str, int | None]]:
    """The stored sample: [{"value": v, "count": n}, …] (most frequent first) or [v, …]."""
    sample = _json(sample_json)
    if sample is None:
        return []
    if not isinstance(sample, list):
        return [(str(sample), None)]
    values = []
    for item in sample:
        if isinstance(item, dict) and set(item) == {"value", "count"}:
            values.append((_value(item["value"]), item["count"]))
        else:
            values.append((_value(item), None))
    return values


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return _utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.isoformat()


def _breakable(text: str, after: str = "_.,") -> Any:
    """Escaped text that may wrap after each of the characters ``after`` (long identifiers)."""
    from markupsafe import Markup, escape

    return Markup(re.sub(f"([{re.escape(after)}])", r"\1<wbr>", str(escape(text))))


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "release"


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


# --- the page ---------------------------------------------------------------------------------------


def render_html(sources: list[Source], warehouse: str, generated_at: datetime | None = None) -> str:
    """The page: inline CSS, plain HTML tables, every value escaped."""
    import jinja2

    releases = sorted(
        (release for source in sources for release in source.releases),
        key=lambda r: r.latest.validated_at,
        reverse=True,
    )
    runs = [run for release in releases for run in release.runs]
    totals = {
        "sources": len(sources),
        "releases": len(releases),
        "runs": len(runs),
        "results": sum(len(run.results) for run in runs),
        "failed_critical": sum(run.failed_critical for run in runs),
        "failed_warning": sum(run.failed_warning for run in runs),
    }
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["when"] = _when
    environment.filters["breakable"] = _breakable
    template = environment.from_string(TEMPLATE.read_text())
    return template.render(
        sources=sources,
        releases=releases,
        totals=totals,
        warehouse=warehouse,
        generated_at=_when(generated_at or datetime.now(UTC)),
    )


def write_validation_report(settings: Settings | None = None) -> Path:
    """``<DIASPORA_DATA_DIR>/validation/index.html``: every validation result in the warehouse, on a
    page that needs no network; returns its path. The warehouse is only read. Raises
    :class:`UsageError` (one line, saying what to run) when it does not exist or is not migrated,
    :class:`WarehouseError` when it cannot be opened (a load holds the DuckDB file: try again)."""
    settings = settings or get_settings()
    with read_only(settings.warehouse_url) as conn:
        sources = read_sources(conn)
    page = render_html(sources, safe_url(settings.warehouse_url))
    folder = settings.data_dir / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "index.html"
    partial = folder / f".index.html.{os.getpid()}.tmp"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)  # a reader sees the old page or the new one, never a part
    return target
