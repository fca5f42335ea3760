"""Process one survey file: match, read, check, protect, stage, publish in one transaction, then
archive — or quarantine with every reason. Nothing is lost and nothing is half-loaded; no error in
a file escapes (a warehouse that fails leaves the file in the inbox for the next try).

The steps live in their own modules: :mod:`~diaspora.surveys.staging` (read, check, protect,
stage), :mod:`~diaspora.surveys.answers` (the rows kept), :mod:`~diaspora.surveys.reasons` (checks
as quarantine reasons), :mod:`~diaspora.surveys.publish` (into ``dw``) and
:mod:`~diaspora.surveys.inbox` (archive, quarantine). Here: their order, what a failure means, and
the DAG's tasks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa

from diaspora.errors import ConfigError, InboxError, LoadCountMismatch, WarehouseError
from diaspora.settings import Settings
from diaspora.surveys.definitions import SurveyDefinition, definition_for, load_definitions
from diaspora.surveys.inbox import Inbox, file_sha256
from diaspora.surveys.publish import publish, published_file_id
from diaspora.surveys.readers import IntakeError, check_name
from diaspora.surveys.staging import drop_stale_staging, stage_chunks, staging_tables
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.published import publish as publish_reporting

log = logging.getLogger(__name__)


def process_file(path: Path, settings: Settings) -> dict:
    """Load ``path`` or quarantine it; returns what happened. Raises only when the configuration,
    the warehouse or the file system fails (the file then stays in the inbox), or for a path that
    is not the inbox's own (a link, a file elsewhere); never for what is in a file."""
    inbox = Inbox(settings.survey_inbox_dir)
    path = inbox.own(Path(path))
    if not inbox.settled(path, settings.survey_settle_seconds):
        return {"file": path.name, "status": "waiting", "reason": "still changing: taken once it settles"}
    tries = inbox.attempt(path)
    if tries > settings.survey_max_attempts:
        reasons = [
            f"{settings.survey_max_attempts} earlier attempts ended with the worker gone (killed, out of "
            "memory or timed out) before the file could be read or refused: it is set aside"
        ]
        return _quarantined(inbox, path, reasons, None)
    definition = None
    try:
        definition = _definition_of(path, settings)
        engine = get_engine(settings.warehouse_url)
        sha256 = file_sha256(path)
        file_id = published_file_id(engine, sha256)
        if file_id is not None:
            return {
                "file": path.name,
                "status": "duplicate",
                "file_id": file_id,
                **_archived(inbox, path, file_id),
            }
        loaded = _load_file(engine, definition, path, sha256, settings)
        return {"file": path.name, "status": "loaded", **loaded, **_archived(inbox, path, loaded["file_id"])}
    except IntakeError as exc:
        reasons = exc.reasons
    except (ConfigError, LoadCountMismatch, InboxError):
        if path.exists():
            inbox.forget_attempts(path)
        raise  # the deployment, the loader or the file system failed, not the file: it stays in the inbox
    except Exception as exc:  # noqa: BLE001 - one file's failure never stops the others
        if _infrastructure_failure(exc):
            # The warehouse or the disk failed (unreachable, out of memory, locked, full), not the
            # file: the task fails, its retry or the next run tries again, the file waits in the inbox.
            inbox.forget_attempts(path)
            raise WarehouseError(
                f"the warehouse or the file system failed while loading {path.name}, which stays in the "
                f"inbox: {type(exc).__name__}: {str(getattr(exc, 'orig', None) or exc).splitlines()[0][:300]}"
            ) from exc
        log.exception("Unexpected error on survey file %s", path.name)
        reasons = [f"unexpected error: {type(exc).__name__}: {str(exc)[:300]}"]
    return _quarantined(inbox, path, reasons, definition.survey_id if definition else None)


def _quarantined(inbox: Inbox, path: Path, reasons: list[str], survey_id: str | None) -> dict:
    inbox.forget_attempts(path)
    target = inbox.quarantine(path, reasons, survey_id)
    log.warning("Survey file %s quarantined: %s", path.name, "; ".join(reasons))
    return {"file": path.name, "status": "quarantined", "reasons": reasons, "quarantined": str(target)}


def _archived(inbox: Inbox, path: Path, file_id: int) -> dict:
    """Move a published file to the archive; a failed move is the disk's fault, not the file's."""
    inbox.forget_attempts(path)
    try:
        return {"archived": str(inbox.archive(path))}
    except OSError as exc:
        raise InboxError(
            f"{path.name} is published (file_id {file_id}) but could not be moved to the archive: {exc}. "
            "It stays in the inbox; the next run finds it published and archives it."
        ) from exc


# What the file cannot cause: the connection, the server, the disk. A value the warehouse refuses
# (DataError, IntegrityError, a conversion) is the file's; anything else from a driver is not.
_FILE_FAULTS = frozenset({"DataError", "IntegrityError", "ConversionException", "ConstraintException"})
_INFRASTRUCTURE = frozenset(  # raw driver errors (psycopg, DuckDB) that SQLAlchemy did not wrap
    {
        "OperationalError",
        "InterfaceError",
        "InternalError",
        "IOException",
        "OutOfMemoryException",
        "ConnectionException",
        "TransactionException",
        "FatalException",
    }
)


def _infrastructure_failure(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _FILE_FAULTS:
        return False
    return isinstance(exc, OSError | sa.exc.DBAPIError) or bool(names & _INFRASTRUCTURE)


def _definition_of(path: Path, settings: Settings) -> SurveyDefinition:
    """The one definition whose file_pattern the name matches; IntakeError if none (or several),
    ConfigError if it hashes personal columns and no salt is set."""
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
    return definition


def _load_file(
    engine: sa.Engine, definition: SurveyDefinition, path: Path, sha256: str, settings: Settings
) -> dict:
    """Stage the file in its own tables, then publish it into ``dw``; time each part."""
    with staging_tables(engine) as staging:
        staged = stage_chunks(engine, definition, path, staging, settings)
        clock = time.perf_counter()
        file_id = publish(engine, definition, path, sha256, staging, staged)
        staged["seconds"]["load"] += time.perf_counter() - clock
    publish_reporting(settings)  # DuckDB: the new estimates reach the readers' copy
    return {"file_id": file_id, **staged}


def pending_files(settings: Settings) -> list[str]:
    """Files waiting in the inbox (paths as text, for task mapping), after dropping what an
    interrupted earlier load left in staging."""
    drop_stale_staging(get_engine(settings.warehouse_url))
    return [str(p) for p in Inbox(settings.survey_inbox_dir).pending(settings.survey_settle_seconds)]


MAX_ALERT_FILES, MAX_ALERT_REASONS = 20, 10  # an alert stays readable; the reports hold the rest


def report_quarantined(results: list[dict], context: dict | None = None) -> list[str]:
    """One alert for the quarantined files of a run (each with its path and reasons)."""
    from diaspora.alerts import Alert, redacted_reason, send
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
        # Counts, columns and rows only: the values found in a file stay in its quarantine report.
        quarantined=[
            {
                "path": r["quarantined"],
                "reasons": [redacted_reason(reason) for reason in r["reasons"][:MAX_ALERT_REASONS]]
                + (
                    [f"and {len(r['reasons']) - MAX_ALERT_REASONS} more in the report"]
                    if len(r["reasons"]) > MAX_ALERT_REASONS
                    else []
                ),
            }
            for r in quarantined[:MAX_ALERT_FILES]
        ],
    )
    return send(alert, get_settings(), context)
