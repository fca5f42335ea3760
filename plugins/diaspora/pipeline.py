"""The one landing → parse → validate → load path that every source goes through.

Each step takes the landing folder of one extract run (what the previous task returned) and
the settings, so an Airflow task, the CLI and the benchmarks call exactly the same code.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from diaspora.errors import ValidationFailed, WarehouseNotReady
from diaspora.health import change_vs_previous, health_for, previous_release_values, release_age_days
from diaspora.http_client import build_session
from diaspora.landing import Landing, Manifest
from diaspora.settings import Settings, get_settings
from diaspora.sources import get_source
from diaspora.sources.base import ParsedDataset
from diaspora.validation import ExpectationOutcome, ValidationReport, validate_frame
from diaspora.warehouse.catalog import grant_bi_role
from diaspora.warehouse.engine import dialect, get_engine, migrate, pending_migrations, safe_url
from diaspora.warehouse.load import (
    TABLE_KEYS,
    ReleaseInfo,
    RunContext,
    loaded_release_label,
    merge,
    previous_row_count,
    record_load_run,
    record_validation_results,
    register_release,
    replace_release_rows,
    to_json_text,
)
from diaspora.warehouse.mart import in_country_order, refresh_after_load
from diaspora.warehouse.reference import reference_fingerprint, sync_reference_data, synced_fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    """What a step reports back (XCom-friendly through ``as_dict``)."""

    source: str
    landing_dir: str
    rows: int | None = None
    seconds: float | None = None
    message: str = ""

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "landing_dir": self.landing_dir,
            "rows": self.rows,
            "seconds": self.seconds,
            "message": self.message,
        }


def prepare_warehouse(settings: Settings | None = None) -> list[str]:
    """Create or migrate the schema and sync reference data; return the migrations applied now.

    Once per deploy (``diaspora migrate``), never from a DAG run: DAGs call :func:`check_warehouse`.
    """
    settings = settings or get_settings()
    engine = get_engine(settings.warehouse_url)
    applied = migrate(engine)
    synced = sync_reference_data(engine, settings.source_health_file)
    if settings.bi_password and dialect(engine) == "postgresql":
        with engine.begin() as conn:
            grant_bi_role(conn, settings.bi_role, settings.bi_password)
    log.info(
        "Warehouse %s ready; migrations applied now: %s; reference rows synced: %s",
        safe_url(settings.warehouse_url),
        applied or "none",
        synced,
    )
    return applied


def check_warehouse(settings: Settings | None = None) -> dict:
    """Fail, saying what to run, when the warehouse is behind this code (schema or reference data).

    A DAG run only reads here: migrations and reference data are applied once per deploy, by
    ``diaspora migrate``, so that concurrent runs never migrate one warehouse at the same time.
    """
    settings = settings or get_settings()
    engine = get_engine(settings.warehouse_url)
    pending = pending_migrations(engine)
    where = safe_url(settings.warehouse_url)
    if pending:
        raise WarehouseNotReady(
            f"The warehouse {where} lacks migration(s) {', '.join(pending)}. Run `diaspora migrate` once "
            "for this deploy (the compose init service and `make demo` do), then run the DAG again."
        )
    with engine.connect() as conn:
        synced = synced_fingerprint(conn)
    expected = reference_fingerprint(settings.source_health_file)
    if synced is None or synced[0] != expected:
        when = f"last synced {synced[1]:%Y-%m-%d %H:%M} UTC" if synced else "never synced"
        raise WarehouseNotReady(
            f"The warehouse {where} holds reference data ({when}) that differ from reference/ and "
            f"{settings.source_health_file.name} of this deploy. Run `diaspora migrate`, then run the DAG "
            "again."
        )
    return {"warehouse": where, "schema": "current", "reference_data": "current"}


def extract(source_key: str, settings: Settings | None = None) -> str:
    """Fetch every payload of ``source_key`` into a new landing folder; return its path."""
    settings = settings or get_settings()
    source = get_source(source_key)
    started = time.perf_counter()
    landing = Landing(settings.raw_dir, source_key)
    release = source.extract(settings, build_session(settings), landing)
    manifest = landing.finish(release, url=source.release_url(settings))
    log.info(
        "Landed %d payload(s), %d bytes, release %s, content sha256 %s, in %s (%.1fs)",
        len(manifest.files),
        sum(f.size for f in manifest.files),
        manifest.release_label,
        manifest.content_sha256,
        manifest.directory,
        time.perf_counter() - started,
    )
    return manifest.directory


def is_new_release(landing_dir: str, settings: Settings | None = None, run: RunContext | None = None) -> bool:
    """False when byte-identical payloads were already loaded: the run then loads nothing."""
    settings = settings or get_settings()
    manifest = Manifest.read(landing_dir)
    engine = get_engine(settings.warehouse_url)
    label = loaded_release_label(engine, manifest.source, manifest.content_sha256)
    if label is None:
        return True
    message = (
        f"Release {label} of {manifest.source} (content sha256 {manifest.content_sha256}) is "
        "already loaded: the payloads are byte-identical, so nothing is loaded this run."
    )
    log.info(message)
    started = datetime.now(UTC)
    with engine.begin() as conn:
        record_load_run(
            conn,
            source=manifest.source,
            status="skipped",
            started_at=started,
            run=run or RunContext(),
            message=message,
        )
    return False


def check_freshness(landing_dir: str, settings: Settings | None = None, context: dict | None = None) -> dict:
    """Compare the landed release's date with the source's cadence; warn when it is stale."""
    from diaspora.alerts import send_staleness_warning

    settings = settings or get_settings()
    manifest = Manifest.read(landing_dir)
    health = health_for(settings.source_health_file, manifest.source)
    released = get_source(manifest.source).release_date(manifest.release_label)
    age = release_age_days(released)
    result = {
        "source": manifest.source,
        "release": manifest.release_label,
        "age_days": age,
        "cadence_days": health.cadence_days,
        "stale": age is not None and age > health.cadence_days,
    }
    if age is None:
        log.info(
            "Release %r of %s has no date: freshness cannot be judged.",
            manifest.release_label,
            manifest.source,
        )
    elif result["stale"]:
        result["alerted"] = send_staleness_warning(
            manifest.source, manifest.release_label, age, health.cadence_days, context
        )
    return result


def _parsed_dir(settings: Settings, manifest: Manifest) -> Path:
    return settings.parsed_dir / manifest.source / manifest.landing_id


def _parsed_landing(landing_dir: str, settings: Settings) -> tuple[Manifest, ModuleType, ParsedDataset]:
    """The manifest of a landing, its source module and the frames the parse step wrote."""
    manifest = Manifest.read(landing_dir)
    return manifest, get_source(manifest.source), ParsedDataset.read(_parsed_dir(settings, manifest))


def parse(landing_dir: str, settings: Settings | None = None) -> StepResult:
    """Parse the landed payloads into typed frames (parquet beside the landing's id)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    manifest = Manifest.read(landing_dir)
    source = get_source(manifest.source)
    parsed = source.parse(manifest, settings)
    fact_table = source.INFO.fact_table
    parsed.frames[fact_table] = in_country_order(fact_table, parsed.frames[fact_table])
    parsed.write(_parsed_dir(settings, manifest))
    rows = len(parsed.frames[source.INFO.fact_table])
    return StepResult(manifest.source, landing_dir, rows, time.perf_counter() - started)


def _row_count_bounds(previous: int | None, tolerance: float) -> dict:
    if previous is None:
        return {"min_rows": 1, "max_rows": None}
    return {
        "min_rows": math.floor(previous * (1 - tolerance)),
        "max_rows": math.ceil(previous * (1 + tolerance)),
    }


def _validation_dir(settings: Settings, manifest: Manifest) -> Path:
    return _parsed_dir(settings, manifest) / "validation"


def _write_validation(directory: Path, report: ValidationReport) -> None:
    """What load needs from validation: the rows each warning flags, and the warnings themselves."""
    directory.mkdir(parents=True, exist_ok=True)
    flags = pd.DataFrame(
        {
            "position": np.concatenate([p for p in report.flagged.values()] or [np.array([], "int64")]),
            "flag": np.repeat(list(report.flagged), [len(p) for p in report.flagged.values()]),
        }
    )
    flags.astype({"position": "int64", "flag": "object"}).to_parquet(directory / "flags.parquet", index=False)
    (directory / "warnings.json").write_text(
        json.dumps([w.as_alert_item() for w in report.warnings], default=str, indent=1)
    )


def quality_flags(directory: Path, rows: int) -> np.ndarray:
    """Per fact row, the flags of the warnings it failed (';'-separated, sorted), None if none."""
    flagged = np.full(rows, None, dtype=object)
    path = directory / "flags.parquet"
    if not path.exists():
        return flagged
    flags = pd.read_parquet(path)
    for flag in sorted(flags["flag"].unique()):
        positions = flags.loc[flags["flag"] == flag, "position"].to_numpy()
        flagged[positions] = [flag if f is None else f"{f};{flag}" for f in flagged[positions]]
    return flagged


def loadable_fact(landing_dir: str, settings: Settings | None = None) -> pd.DataFrame:
    """The fact rows as the load writes them (release_id aside): the parsed columns without the
    validation helpers, and the quality flags of the warnings validation found."""
    settings = settings or get_settings()
    manifest = Manifest.read(landing_dir)
    info = get_source(manifest.source).INFO
    path = _parsed_dir(settings, manifest) / f"{info.fact_table}.parquet"
    columns = [c for c in pq.read_schema(path).names if c not in info.validation_only_columns]
    fact = pq.read_table(path, columns=columns).to_pandas()
    fact["quality_flags"] = quality_flags(_validation_dir(settings, manifest), len(fact))
    return fact


def validate(landing_dir: str, settings: Settings | None = None, run: RunContext | None = None) -> StepResult:
    """Run the source's suite on the parsed fact frame and record every outcome.

    A failed critical expectation raises :class:`ValidationFailed` and nothing loads; failed
    warnings are kept beside the parsed frames for the load step, which flags their rows.
    """
    settings = settings or get_settings()
    run = run or RunContext()
    started_at, started = datetime.now(UTC), time.perf_counter()
    manifest, source, parsed = _parsed_landing(landing_dir, settings)
    info = source.INFO
    engine = get_engine(settings.warehouse_url)
    health = health_for(settings.source_health_file, info.key)
    keys = [k for k in TABLE_KEYS[info.fact_table] if k != "release_id"]
    previous = previous_release_values(engine, info.key, info.fact_table, keys, info.value_column)
    fact = parsed.frames[info.fact_table]
    fact = fact.assign(change_vs_previous=change_vs_previous(fact, previous, keys, info.value_column))
    parameters = {
        **source.expectation_parameters(parsed, settings),
        **_row_count_bounds(previous_row_count(engine, info.key), settings.row_count_tolerance),
        "min_change": -health.value_jump,
        "max_change": health.value_jump,
        "unchanged_share": 1 - health.max_jump_share,
        "min_year_change": 1 / health.year_jump_factor - 1,
        "max_year_change": health.year_jump_factor - 1,
    }
    report = validate_frame(
        fact,
        settings.expectations_dir / f"{info.suite}.json",
        parameters,
        docs_dir=settings.data_docs_dir,
        run_name=run.run_id or manifest.landing_id,
        key_columns=keys,
    )
    validated_at = datetime.now(UTC)
    rows = [
        {
            "source": info.key,
            "suite": report.suite,
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "content_sha256": manifest.content_sha256,
            "release_label": manifest.release_label,
            "expectation_type": o.expectation_type,
            "column_name": o.columns,
            "kwargs_json": to_json_text(o.kwargs),
            "success": o.success,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "observed_value": to_json_text(o.observed_value),
            "sample_values": _sample_values_json(o),
            "validated_at": validated_at,
            "severity": o.severity,
        }
        for o in report.outcomes
    ]
    with engine.begin() as conn:
        record_validation_results(conn, rows)
        if not report.success:
            record_load_run(
                conn,
                source=info.key,
                status="validation_failed",
                started_at=started_at,
                run=run,
                rows_in=len(fact),
                rows_loaded=0,
                message=report.failure_message(info.key, manifest.release_label),
            )
    if not report.success:
        raise ValidationFailed(
            report.failure_message(info.key, manifest.release_label),
            [f.as_alert_item() for f in report.failures],
            source=info.key,
            release=manifest.release_label,
            docs_url=report.docs_url,
        )
    _write_validation(_validation_dir(settings, manifest), report)
    message = f"{len(report.outcomes)} expectations of suite '{report.suite}' checked on {len(fact):,} rows"
    if report.warnings:
        message += "; " + report.warning_message(info.key, manifest.release_label)
        log.warning(message)
    else:
        log.info(message + ": all passed")
    return StepResult(info.key, landing_dir, len(fact), time.perf_counter() - started, message)


def _sample_values_json(outcome: ExpectationOutcome) -> str | None:
    """The most frequent unexpected values with their counts, or the first ones when not counted."""
    if outcome.value_counts:
        return to_json_text([{"value": v, "count": c} for v, c in outcome.value_counts])
    return to_json_text(outcome.sample_values) if outcome.sample_values else None


def _release_info(manifest: Manifest, source: ModuleType) -> ReleaseInfo:
    info = source.INFO
    return ReleaseInfo(
        source=info.key,
        publisher=info.publisher,
        dataset=info.dataset,
        release_label=manifest.release_label,
        release_date=source.release_date(manifest.release_label),
        url=manifest.meta.get("url", ""),
        content_sha256=manifest.content_sha256,
        fetched_at=datetime.fromisoformat(manifest.fetched_at),
        licence=info.licence,
        citation=info.citation,
        raw_location=manifest.directory,
    )


def load(
    landing_dir: str,
    settings: Settings | None = None,
    run: RunContext | None = None,
    context: dict | None = None,
) -> StepResult:
    """Load the parsed frames into ``dw`` in one transaction, with the release and an audit row.

    Fact rows replace the release's rows and carry the quality flags of the warnings that
    validation found. Every table is counted back after its write; a difference, or any other
    error, rolls everything back and is recorded as a failed load. Warnings alert once the data
    is in.
    """
    settings = settings or get_settings()
    run = run or RunContext()
    started_at, started = datetime.now(UTC), time.perf_counter()
    manifest = Manifest.read(landing_dir)
    source = get_source(manifest.source)
    info = source.INFO
    release = _release_info(manifest, source)
    dimensions = ParsedDataset.read(_parsed_dir(settings, manifest), tables=info.dimension_tables).frames
    fact = loadable_fact(landing_dir, settings)
    engine = get_engine(settings.warehouse_url)
    try:
        with engine.begin() as conn:
            release_id = register_release(conn, release)
            counts = [merge(conn, table, dimensions[table]) for table in info.dimension_tables]
            fact["release_id"] = release_id
            counts.append(replace_release_rows(conn, info.fact_table, fact, release_id))
            loaded = counts[-1].landed
            refreshed = refresh_after_load(conn, info.fact_table, release_id)
            message = (
                f"Loaded release {release.release_label} into {info.fact_table}: {loaded:,} rows counted "
                f"back ({fact['quality_flags'].notna().sum():,} flagged); "
                + ", ".join(f"{c.table} {c.landed:,}" for c in counts[:-1])
                + "; reporting layer refreshed in "
                + f"{sum(r.seconds for r in refreshed):.2f} s ("
                + ", ".join(f"{r.table} {r.rows:,}" for r in refreshed)
                + ")"
            )
            record_load_run(
                conn,
                source=info.key,
                status="success",
                started_at=started_at,
                run=run,
                release=release,
                release_id=release_id,
                rows_in=len(fact),
                rows_loaded=loaded,
                message=message,
                table_counts=counts,
                reporting_refresh={r.table: r.as_dict() for r in refreshed},
            )
    except Exception as exc:
        with engine.begin() as conn:
            record_load_run(
                conn,
                source=info.key,
                status="failed",
                started_at=started_at,
                run=run,
                release=release,
                rows_in=len(fact),
                rows_loaded=0,
                message=f"{type(exc).__name__}: {exc}"[:2000],
            )
        raise
    log.info(message)
    warnings = _read_warnings(_validation_dir(settings, manifest))
    if warnings:
        from diaspora.alerts import send_validation_warning

        flagged = int(fact["quality_flags"].notna().sum())
        send_validation_warning(info.key, release.release_label, warnings, loaded, flagged, context)
    return StepResult(info.key, landing_dir, loaded, time.perf_counter() - started, message)


def _read_warnings(directory: Path) -> list[dict]:
    path = directory / "warnings.json"
    return json.loads(path.read_text()) if path.exists() else []


def run_source(source_key: str, settings: Settings | None = None, run: RunContext | None = None) -> dict:
    """Every step in order, without Airflow (CLI and benchmarks); returns per-step results."""
    settings = settings or get_settings()
    prepare_warehouse(settings)
    landing_dir = extract(source_key, settings)
    if not is_new_release(landing_dir, settings, run):
        return {"landing_dir": landing_dir, "skipped": True}
    return {
        "landing_dir": landing_dir,
        "skipped": False,
        "parse": parse(landing_dir, settings).as_dict(),
        "validate": validate(landing_dir, settings, run).as_dict(),
        "load": load(landing_dir, settings, run).as_dict(),
    }
