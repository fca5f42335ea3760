"""The one landing → parse → validate → load path that every source goes through.

Each step takes the landing folder of one extract run (what the previous task returned) and
the settings, so an Airflow task, the CLI and the benchmarks call exactly the same code.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from diaspora.alerts import accept_command
from diaspora.errors import (
    DiasporaError,
    ParseError,
    ReleaseHeld,
    ReleaseQuarantined,
    SourceError,
    UsageError,
    ValidationFailed,
    WarehouseNotReady,
)
from diaspora.health import health_for, release_age_days
from diaspora.http_client import build_session
from diaspora.landing import SAFE_NAME, Landing, Manifest, verified_landing
from diaspora.progress import Progress
from diaspora.revisions import ReleaseDiff, Verdict, diff_releases, judge, summary_sentence
from diaspora.settings import Settings, get_settings
from diaspora.sources import get_source
from diaspora.sources.base import ParsedDataset, ParseNotice, ReleaseAbout
from diaspora.sources.contract import Source
from diaspora.validation import WARNING, ExpectationOutcome, ValidationReport, validate_frame
from diaspora.warehouse.audit import (
    ReleaseInfo,
    RunContext,
    loaded_release_label,
    record_load_run,
    record_validation_results,
    register_release,
    to_json_text,
)
from diaspora.warehouse.bi_catalog import grant_bi_role
from diaspora.warehouse.engine import dialect, get_engine, safe_url
from diaspora.warehouse.facts import grain_of
from diaspora.warehouse.load import merge, replace_release_rows
from diaspora.warehouse.mart import in_country_order, refresh_after_load
from diaspora.warehouse.published import publish as publish_reporting
from diaspora.warehouse.reference import reference_fingerprint, sync_reference_data, synced_fingerprint
from diaspora.warehouse.releases import (
    DiffRecord,
    LoadedRelease,
    find_release,
    last_withheld,
    loaded_releases,
    preceding_release,
    record_diff,
    release_values,
)
from diaspora.warehouse.schema import migrate, pending_migrations

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
    from diaspora.deploy import provision_owner

    settings = settings or get_settings()
    if settings.warehouse_admin_url:  # a production deploy: the pipeline's owner is no superuser
        provision_owner(settings.warehouse_admin_url, settings.warehouse_url)
    engine = get_engine(settings.warehouse_url)
    applied = migrate(engine)
    synced = sync_reference_data(engine, settings.source_health_file)
    publish_reporting(settings)
    if settings.bi_password and dialect(engine) == "postgresql":
        _grant_bi_role(settings, engine)
    log.info(
        "Warehouse %s ready; migrations applied now: %s; reference rows synced: %s",
        safe_url(settings.warehouse_url),
        applied or "none",
        synced,
    )
    return applied


def _grant_bi_role(settings: Settings, engine) -> None:  # noqa: ANN001 - a SQLAlchemy engine
    """The BI role, granted by the deploy's superuser where there is one (creating a role and
    revoking PUBLIC's rights on the database need it), else by the warehouse's own user."""
    import sqlalchemy as sa

    from diaspora.deploy import admin_connection

    owner = sa.make_url(settings.warehouse_url).username
    granting = (
        admin_connection(settings.warehouse_admin_url) if settings.warehouse_admin_url else engine.begin()
    )
    with granting as conn:
        grant_bi_role(conn, settings, owner)


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
    release = source.extract(settings, build_session(settings, source_key), landing)
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


def is_new_release(
    landing_dir: str, settings: Settings | None = None, run: RunContext | None = None, reload: bool = False
) -> bool:
    """False when byte-identical payloads were already loaded: the run then loads nothing, unless
    ``reload`` asks to load the release again (its rows are replaced: the result is the same)."""
    settings = settings or get_settings()
    manifest = Manifest.read(landing_dir)
    engine = get_engine(settings.warehouse_url)
    label = loaded_release_label(engine, manifest.source, manifest.content_sha256)
    if label is None or reload:
        if label is not None:
            log.info("Release %s of %s is loaded already; loading it again (reload).", label, manifest.source)
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


def _parsed_landing(landing_dir: str, settings: Settings) -> tuple[Manifest, Source, ParsedDataset]:
    """The manifest of a landing (labelled as the parsed payload names its release), its source
    and the frames the parse step wrote."""
    manifest = Manifest.read(landing_dir)
    parsed = ParsedDataset.read(_parsed_dir(settings, manifest))
    return _as_parsed(manifest, parsed.release), get_source(manifest.source), parsed


def _as_parsed(manifest: Manifest, about: ReleaseAbout | None) -> Manifest:
    """The manifest with the release label the payload itself gives (a workbook's title rows), when
    it gives one: the parser reads the whole payload, the extract only what it needed to land it."""
    if about is None or not about.label or about.label == manifest.release_label:
        return manifest
    return replace(manifest, release_label=about.label)


def parse(landing_dir: str, settings: Settings | None = None) -> StepResult:
    """Parse the landed payloads into typed frames (parquet beside the landing's id)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    manifest = verified_landing(settings.raw_dir, landing_dir)  # before a byte of it is parsed
    source = get_source(manifest.source)
    try:
        parsed = source.parse(manifest, settings)
    except SourceError as exc:  # a landed payload its decoder refuses: as deterministic as a bad layout
        raise ParseError(str(exc)) from exc
    fact_table = source.fact_table
    parsed.frames[fact_table] = in_country_order(fact_table, parsed.frames[fact_table])
    parsed.write(_parsed_dir(settings, manifest))
    rows = len(parsed.frames[source.fact_table])
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
    source = get_source(manifest.source)
    path = _parsed_dir(settings, manifest) / f"{source.fact_table}.parquet"
    columns = [c for c in pq.read_schema(path).names if c not in source.validation_only_columns]
    fact = pq.read_table(path, columns=columns).to_pandas()
    fact["quality_flags"] = quality_flags(_validation_dir(settings, manifest), len(fact))
    return fact


def _preceding(engine, manifest: Manifest, source: Source) -> LoadedRelease | None:  # noqa: ANN001
    """The loaded release published just before the landed one (None for the first)."""
    with engine.connect() as conn:
        return preceding_release(
            conn,
            source.key,
            source.release_date(manifest.release_label),
            datetime.fromisoformat(manifest.fetched_at),
            manifest.content_sha256,
        )


def _compare_with_preceding(
    engine,
    manifest: Manifest,
    source: Source,
    fact: pd.DataFrame,  # noqa: ANN001
) -> tuple[LoadedRelease | None, ReleaseDiff]:
    grain = grain_of(source.fact_table)
    preceding = _preceding(engine, manifest, source)
    if preceding is None:
        previous = pd.DataFrame({c: pd.Series(dtype="int64" if c == "year" else object) for c in grain.keys})
        previous[grain.value] = pd.Series(dtype="float64")
    else:
        with engine.connect() as conn:
            previous = release_values(conn, grain, preceding.release_id)
    return preceding, diff_releases(comparable_values(source, previous, fact), fact, grain)


def comparable_values(source: Source, previous: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The values of an older release that a newer one is compared with: all of them, or, for a
    source whose releases each cover their own years (``release_covers_own_years``), those of the
    years the newer release carries. A 2018 edition of the World Bank/KNOMAD matrix then adds the
    2018 values and removes none of 2017's (which stay current from the 2017 edition), while a
    re-published 2017 workbook is compared with the 2017 edition value by value."""
    if not source.release_covers_own_years or previous.empty:
        return previous
    years = pd.unique(new["year"])
    return previous[previous["year"].isin(years)].reset_index(drop=True)


def validate(
    landing_dir: str,
    settings: Settings | None = None,
    run: RunContext | None = None,
    accept: bool = False,
    context: dict | None = None,
) -> StepResult:
    """Run the source's suite on the parsed fact frame, compare the release with the one before
    it, and record every outcome.

    A failed critical expectation raises :class:`ValidationFailed` and nothing loads; a release
    that breaks the revision policy (too many values or whole countries dropped) raises
    :class:`ReleaseQuarantined`, and a new edition within the policy is held for review (an alert
    says how to accept it) and raises :class:`ReleaseHeld`, unless ``accept``. Failed warnings and
    the release diff are kept beside the parsed frames for the load step, which flags rows and
    records the diff.
    """
    settings = settings or get_settings()
    run = run or RunContext()
    started_at, started = datetime.now(UTC), time.perf_counter()
    manifest, source, parsed = _parsed_landing(landing_dir, settings)
    engine = get_engine(settings.warehouse_url)
    health = health_for(settings.source_health_file, source.key)
    keys = list(grain_of(source.fact_table).keys)
    fact = parsed.frames[source.fact_table]
    preceding, diff = _compare_with_preceding(engine, manifest, source, fact)
    fact = fact.assign(change_vs_previous=diff.new_relative_change)
    parameters = {
        **source.expectation_parameters(parsed, settings),
        **_row_count_bounds(preceding.rows if preceding else None, settings.row_count_tolerance),
        "min_change": -health.value_jump,
        "max_change": health.value_jump,
        "unchanged_share": 1 - health.max_jump_share,
        "min_year_change": 1 / health.year_jump_factor - 1,
        "max_year_change": health.year_jump_factor - 1,
    }
    report = validate_frame(
        fact,
        source.suite_path,
        parameters,
        docs_dir=settings.data_docs_dir,
        run_name=run.run_id or manifest.landing_id,
        key_columns=keys,
    )
    report.outcomes += [_notice_outcome(notice) for notice in parsed.notices]
    validated_at = datetime.now(UTC)
    rows = [
        {
            "source": source.key,
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
    verdict = judge(diff, health.revisions, _new_edition(source, preceding, manifest))
    record = _diff_record(manifest, source.fact_table, preceding, diff, verdict, accept)
    withheld = record.status if report.success and record.status in ("quarantined", "held") else None
    with engine.begin() as conn:
        record_validation_results(conn, rows)
        if withheld:
            record_diff(conn, record, None, None)
        if not report.success or withheld:
            record_load_run(
                conn,
                source=source.key,
                status=withheld or "validation_failed",
                started_at=started_at,
                run=run,
                rows_in=len(fact),
                rows_loaded=0,
                message=_withheld_message(record, verdict, landing_dir)
                if withheld
                else report.failure_message(source.key, manifest.release_label),
            )
    if not report.success:
        raise ValidationFailed(
            report.failure_message(source.key, manifest.release_label),
            [f.as_alert_item() for f in report.failures],
            source=source.key,
            release=manifest.release_label,
            docs_url=report.docs_url,
        )
    if withheld == "quarantined":
        raise ReleaseQuarantined(
            _withheld_message(record, verdict, landing_dir),
            record.breaches,
            record.summary,
            source=source.key,
            release=manifest.release_label,
            landing_dir=landing_dir,
        )
    if withheld == "held":
        _hold_for_review(record, verdict, landing_dir, context)
    directory = _validation_dir(settings, manifest)
    _write_validation(directory, report)
    _write_diff(directory, record, diff if preceding else None)
    message = f"{len(report.outcomes)} expectations of suite '{report.suite}' checked on {len(fact):,} rows"
    message += "; " + (
        summary_sentence(manifest.release_label, record.summary)
        if preceding
        else "the source's first release: nothing to compare"
    )
    if report.warnings:
        message += "; " + report.warning_message(source.key, manifest.release_label)
        log.warning(message)
    else:
        log.info(message + "; all expectations passed")
    return StepResult(source.key, landing_dir, len(fact), time.perf_counter() - started, message)


def _notice_outcome(notice: ParseNotice) -> ExpectationOutcome:
    """A parser's notice (a field it does not know) as a failed warning: alerted and recorded
    with the expectations, flagging no row."""
    return ExpectationOutcome(
        expectation_type=notice.kind,
        column=notice.field,
        kwargs={},
        success=False,
        unexpected_count=notice.count,
        unexpected_percent=None,
        observed_value=None,
        sample_values=[],
        severity=WARNING,
        why=notice.why,
    )


def _new_edition(source: Source, preceding: LoadedRelease | None, manifest: Manifest) -> str | None:
    """'IMS 2020 → IMS 2024' when the landed release is a new edition of a source that publishes
    editions (another label than the edition before it); None otherwise."""
    if not source.editions or preceding is None or preceding.label == manifest.release_label:
        return None
    return f"{preceding.label} → {manifest.release_label}"


def _diff_record(
    manifest: Manifest,
    fact_table: str,
    preceding: LoadedRelease | None,
    diff: ReleaseDiff,
    verdict: Verdict,
    accept: bool,
) -> DiffRecord:
    status = "loaded"
    if verdict.quarantine or verdict.hold:
        status = "accepted" if accept else "quarantined" if verdict.quarantine else "held"
    return DiffRecord(
        source=manifest.source,
        fact_table=fact_table,
        old_release_id=preceding.release_id if preceding else None,
        old_release_label=preceding.label if preceding else None,
        new_release_label=manifest.release_label,
        new_content_sha256=manifest.content_sha256,
        status=status,
        summary=diff.summary(),
        revised_totals=verdict.revised_totals,
        revised_totals_count=verdict.revised_totals_count,
        breaches=verdict.breaches or ([verdict.new_edition] if verdict.hold else []),
    )


def _withheld_message(record: DiffRecord, verdict: Verdict, landing_dir: str) -> str:
    if verdict.quarantine:
        head = (
            f"Release {record.new_release_label} of {record.source} is quarantined by its revision policy "
            f"(config/source_health.yml) against release {record.old_release_label}: "
            + "; ".join(record.breaches)
        )
    else:
        head = (
            f"Release {record.new_release_label} of {record.source} is held for review before it replaces "
            f"release {record.old_release_label} everywhere: {verdict.new_edition}"
        )
    return (
        head
        + f". Nothing was loaded; {record.old_release_label} stays current. Review it with `diaspora diff "
        + f"{record.source} {record.old_release_id} {landing_dir}`; to load it, run "
        + accept_command(record.source)
        + "."
    )


def _hold_for_review(record: DiffRecord, verdict: Verdict, landing_dir: str, context: dict | None) -> None:
    """A new edition within the policy: one alert (what it changes, how to accept it), then
    :class:`ReleaseHeld` (a DAG skips its load: nothing failed)."""
    from diaspora.alerts import send_new_edition_held

    message = _withheld_message(record, verdict, landing_dir)
    log.warning(message)
    send_new_edition_held(record.__dict__, accept_command(record.source), context)
    raise ReleaseHeld(
        message, source=record.source, release=record.new_release_label, landing_dir=landing_dir
    )


def _write_diff(directory: Path, record: DiffRecord, diff: ReleaseDiff | None) -> None:
    """What load records of the diff: its summary (diff.json) and its values (changes.parquet)."""
    (directory / "diff.json").write_text(json.dumps(record.__dict__, default=str, indent=1))
    if diff is not None:
        diff.value_rows().to_parquet(directory / "changes.parquet", index=False)


def _read_diff(directory: Path) -> tuple[DiffRecord | None, pd.DataFrame | None]:
    path = directory / "diff.json"
    if not path.exists():
        return None, None
    changes = directory / "changes.parquet"
    values = pd.read_parquet(changes) if changes.exists() else None
    return DiffRecord(**json.loads(path.read_text())), values


def _sample_values_json(outcome: ExpectationOutcome) -> str | None:
    """The most frequent unexpected values with their counts, or the first ones when not counted."""
    if outcome.value_counts:
        return to_json_text([{"value": v, "count": c} for v, c in outcome.value_counts])
    return to_json_text(outcome.sample_values) if outcome.sample_values else None


def _release_info(manifest: Manifest, source: Source, about: ReleaseAbout | None = None) -> ReleaseInfo:
    return ReleaseInfo(
        source=source.key,
        publisher=source.publisher,
        dataset=source.dataset,
        release_label=manifest.release_label,
        release_date=source.release_date(manifest.release_label),
        url=manifest.meta.get("url", ""),
        content_sha256=manifest.content_sha256,
        fetched_at=datetime.fromisoformat(manifest.fetched_at),
        licence=(about and about.licence) or source.licence,  # an edition's own, where it states it
        citation=(about and about.citation) or source.citation,
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
    parsed = ParsedDataset.read(_parsed_dir(settings, manifest), tables=source.dimension_tables)
    manifest = _as_parsed(manifest, parsed.release)
    release = _release_info(manifest, source, parsed.release)
    dimensions = parsed.frames
    fact = loadable_fact(landing_dir, settings)
    diff, changes = _read_diff(_validation_dir(settings, manifest))
    engine = get_engine(settings.warehouse_url)
    try:
        with engine.begin() as conn:
            release_id = register_release(conn, release)
            counts = [merge(conn, table, dimensions[table]) for table in source.dimension_tables]
            fact["release_id"] = release_id
            counts.append(replace_release_rows(conn, source.fact_table, fact, release_id))
            loaded = counts[-1].landed
            if diff is not None:
                record_diff(conn, diff, release_id, changes)
            refreshed = refresh_after_load(conn, source.fact_table, release_id)
            message = (
                f"Loaded release {release.release_label} into {source.fact_table}: {loaded:,} rows counted "
                f"back ({fact['quality_flags'].notna().sum():,} flagged); "
                + ", ".join(f"{c.table} {c.landed:,}" for c in counts[:-1])
                + "; reporting layer refreshed in "
                + f"{sum(r.seconds for r in refreshed):.2f} s ("
                + ", ".join(f"{r.table} {r.rows:,}" for r in refreshed)
                + ")"
                + (f"; {summary_sentence(release.release_label, diff.summary)}" if _compared(diff) else "")
            )
            record_load_run(
                conn,
                source=source.key,
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
                source=source.key,
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
    publish_reporting(settings)  # DuckDB: readers get the new layer, whole, once it is committed
    _notify_loaded(settings, source.key, release.release_label, loaded, diff, context)
    warnings = _read_warnings(_validation_dir(settings, manifest))
    if warnings:
        from diaspora.alerts import send_validation_warning

        flagged = int(fact["quality_flags"].notna().sum())
        changes = diff.__dict__ if diff else None
        label = release.release_label
        send_validation_warning(source.key, label, warnings, loaded, flagged, context, changes)
    elif diff is not None and (diff.revised_totals or diff.status == "accepted"):
        from diaspora.alerts import send_revision_warning

        send_revision_warning(source.key, release.release_label, diff.__dict__, context)
    return StepResult(source.key, landing_dir, loaded, time.perf_counter() - started, message)


def _compared(diff: DiffRecord | None) -> bool:
    return diff is not None and diff.old_release_id is not None


def _notify_loaded(
    settings: Settings,
    source: str,
    release: str | None,
    loaded: int,
    diff: DiffRecord | None,
    context: dict | None,
) -> None:
    """The success notification, with what the release changed against the previous one."""
    if settings.notify_on_success:
        from diaspora.alerts import send_release_loaded

        send_release_loaded(source, release, loaded, diff.__dict__ if diff else None, context)


def _read_warnings(directory: Path) -> list[dict]:
    path = directory / "warnings.json"
    return json.loads(path.read_text()) if path.exists() else []


def stored_landing(source_key: str, reference: str, settings: Settings | None = None) -> str:
    """The landing folder of a stored release, without the network: ``reference`` is a landing
    id or folder under the source's own landing folder, a loaded release's id or label, or the
    label of a landing never loaded (quarantined, or landed before the warehouse was rebuilt).
    Whatever names it, the landing is verified (:func:`verified_landing`) before it is returned."""
    settings = settings or get_settings()
    get_source(source_key)  # an unknown source fails here, naming the known ones
    own = settings.raw_dir / source_key
    if any(sep in reference for sep in ("/", "\\")) or reference.startswith("."):
        return verified_landing(settings.raw_dir, reference, source_key).directory
    if SAFE_NAME.match(reference) and (own / reference).is_dir():
        return verified_landing(settings.raw_dir, own / reference, source_key).directory
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        try:
            release = find_release(conn, source_key, reference)
        except DiasporaError:
            release = None
    if release is not None and Path(release.raw_location).is_dir():
        return verified_landing(settings.raw_dir, release.raw_location, source_key).directory
    return verified_landing(settings.raw_dir, _landing_by_label(own, reference), source_key).directory


def withheld_landing(source_key: str, settings: Settings | None = None) -> str:
    """The landing of the release the revision policy held back last (held for review or
    quarantined); an error saying what is loaded when nothing waits."""
    settings = settings or get_settings()
    get_source(source_key)
    with get_engine(settings.warehouse_url).connect() as conn:
        withheld = last_withheld(conn, source_key)
    if withheld is None:
        raise UsageError(
            f"no release of {source_key} waits for acceptance: the revision policy held none back since "
            f"the last load (`diaspora status` shows what waits; `diaspora diff {source_key}` the latest)"
        )
    label, content = withheld
    folder = settings.raw_dir / source_key
    landings = [Manifest.read(path.parent) for path in sorted(folder.glob("*/manifest.json"))]
    matching = [m for m in landings if m.content_sha256 == content]
    if not matching:
        raise UsageError(f"The held release {label} of {source_key} has no landing left in {folder}")
    return verified_landing(settings.raw_dir, matching[-1].directory, source_key).directory


def accept(
    source_key: str,
    reference: str | None = None,
    settings: Settings | None = None,
    run: RunContext | None = None,
) -> dict:
    """``diaspora accept``: load on purpose the release the revision policy held back (the last one,
    or the release ``reference`` names), without the network; what it changes is recorded and sent
    as for any load."""
    settings = settings or get_settings()
    landing_dir = (
        stored_landing(source_key, reference, settings)
        if reference
        else withheld_landing(source_key, settings)
    )
    return backfill(source_key, landing_dir, settings, run, accept=True)


def _landing_by_label(folder: Path, label: str) -> str:
    """The newest complete landing in ``folder`` whose release label is ``label``; an error when
    landings of that label differ in content (name the folder) or none exists (list the labels)."""
    manifests = [Manifest.read(path.parent) for path in sorted(folder.glob("*/manifest.json"))]
    matching = [m for m in manifests if m.release_label == label]
    contents = {m.content_sha256 for m in matching}
    if len(contents) == 1:
        return matching[-1].directory
    if contents:
        raise UsageError(
            f"{len(contents)} landings in {folder} are labelled {label!r} with different contents; name one "
            "folder: " + ", ".join(m.directory for m in matching)
        )
    labels = sorted({m.release_label or "(unlabelled)" for m in manifests})
    raise UsageError(
        f"No stored landing of release {label!r} in {folder}. Stored releases: {', '.join(labels) or 'none'}"
    )


def backfill(
    source_key: str,
    reference: str,
    settings: Settings | None = None,
    run: RunContext | None = None,
    *,
    reload: bool = False,
    accept: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Parse, validate and load a stored release again, without the network (CLI; the DAGs do
    the same when triggered with ``{"release": …}``). A loaded release is skipped unless
    ``reload``; an older release never hides a newer one in the reporting views."""
    settings = settings or get_settings()
    landing_dir = stored_landing(source_key, reference, settings)
    if not is_new_release(landing_dir, settings, run, reload=reload):
        return {"landing_dir": landing_dir, "skipped": True}
    progress = progress or Progress("backfill", 3, enabled=False)
    steps = {
        "parse": lambda: parse(landing_dir, settings),
        "validate": lambda: validate(landing_dir, settings, run, accept=accept),
        "load": lambda: load(landing_dir, settings, run),
    }
    result: dict = {"landing_dir": landing_dir, "skipped": False}
    for name, step in steps.items():
        progress.start(name)
        result[name] = step().as_dict()
        progress.done()
    return result


@dataclass(frozen=True)
class Comparison:
    """Two releases of a source compared, named as a user would name them."""

    old_name: str
    new_name: str
    diff: ReleaseDiff
    verdict: Verdict


def compare_releases(
    source_key: str, old: str | None = None, new: str | None = None, settings: Settings | None = None
) -> Comparison:
    """``diaspora diff``: two loaded releases (ids or labels; default the two latest), or a loaded
    release and a validated landing folder (a quarantined release under review)."""
    settings = settings or get_settings()
    source = get_source(source_key)
    grain = grain_of(source.fact_table)
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        releases = loaded_releases(conn, source_key)
        if new and Path(new).is_dir():
            newer_name, values, newer_index = f"landing {new}", loadable_fact(new, settings), -1
        else:
            newer = find_release(conn, source_key, new) if new else _nth(releases, 0, source_key)
            newer_name, values = newer.name, release_values(conn, grain, newer.release_id)
            newer_index = releases.index(newer)
        older = find_release(conn, source_key, old) if old else _nth(releases, newer_index + 1, source_key)
        previous = release_values(conn, grain, older.release_id)
    diff = diff_releases(comparable_values(source, previous, values), values, grain)
    newer_label = Manifest.read(new).release_label if new and Path(new).is_dir() else newer.label
    editions = source.editions and older.label != newer_label
    new_edition = f"{older.label} → {newer_label}" if editions else None
    verdict = judge(diff, health_for(settings.source_health_file, source_key).revisions, new_edition)
    return Comparison(f"{source_key}: {older.name}", newer_name, diff, verdict)


def _nth(releases: list[LoadedRelease], index: int, source_key: str) -> LoadedRelease:
    if index >= len(releases):
        raise UsageError(
            f"nothing to compare: {source_key} has {len(releases)} loaded release(s) and a diff needs two; "
            f"load another (`diaspora backfill {source_key} <landing>`) or name a landing folder as NEW"
        )
    return releases[index]


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
