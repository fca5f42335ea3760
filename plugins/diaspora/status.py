"""``diaspora status``: how things stand, on one screen, for an operator or a health check.

Per source: the latest loaded release and its date, the last successful load, a release the
revision policy holds back (with the command that accepts it), the last load's failure, staleness
against the source's cadence and the warnings the latest release's validation raised. Then the
survey inbox and quarantine, the warehouse's migrations and reference data, and Airflow: the pool
warehouse tasks wait in and whether the DAGs are parsed. Every finding has a level: ``action`` (a
person must act; the command exits 1), ``warning`` (worth a look; exits 1 only with ``strict``) or
``ok``. Reads only: a missing warehouse is reported, never created.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from diaspora.settings import Settings

LEVELS = ("ok", "warning", "action")
# The DAGs besides one per source (dags/).
OTHER_DAGS = ("survey_files", "diaspora_reporting")


@dataclass(frozen=True)
class Finding:
    area: str  # a source key, "surveys", "warehouse" or "airflow"
    level: str  # ok | warning | action
    what: str  # one line
    run: str | None = None  # the command that resolves it, when there is one


@dataclass
class Status:
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, dict] = field(default_factory=dict)
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def add(self, area: str, level: str, what: str, run: str | None = None) -> None:
        self.findings.append(Finding(area, level, what, run))

    def exit_code(self, strict: bool = False) -> int:
        failing = {"action", "warning"} if strict else {"action"}
        return 1 if any(f.level in failing for f in self.findings) else 0

    def as_json(self) -> str:
        body = {
            "checked_at": self.checked_at,
            "sources": self.sources,
            "findings": [asdict(f) for f in self.findings],
        }
        return json.dumps(body, indent=2, default=str)


def collect(settings: Settings) -> Status:
    status = Status()
    engine = _warehouse(settings, status)
    if engine is not None:
        with engine.connect() as conn:
            for key in _source_keys():
                status.sources[key] = _source(conn, settings, key, status)
    _surveys(settings, status)
    _airflow(settings, status)
    return status


def _source_keys() -> list[str]:
    from diaspora.sources import registry

    return list(registry())


def _warehouse(settings: Settings, status: Status):  # noqa: ANN202 - a SQLAlchemy engine or None
    """The warehouse, if it can be read; its migrations and reference data judged by the same check
    every DAG run starts with (``pipeline.check_warehouse``)."""
    from diaspora.errors import UsageError, WarehouseNotReady
    from diaspora.pipeline import check_warehouse
    from diaspora.warehouse.schema import readable_warehouse

    try:
        engine = readable_warehouse(settings.warehouse_url)
    except UsageError as exc:
        status.add("warehouse", "action", str(exc), "diaspora migrate")
        return None
    try:
        check_warehouse(settings)
    except WarehouseNotReady as exc:
        status.add("warehouse", "action", " ".join(str(exc).split()), "diaspora migrate")
    else:
        status.add("warehouse", "ok", "migrated; reference data current")
    return engine


def _source(conn, settings: Settings, key: str, status: Status) -> dict:  # noqa: ANN001 - a connection
    from diaspora.health import health_for, release_age_days
    from diaspora.sources import get_source
    from diaspora.warehouse.releases import last_withheld, loaded_releases

    source = get_source(key)
    releases = loaded_releases(conn, key)
    latest = releases[0] if releases else None
    health = health_for(settings.source_health_file, key)
    last_load = _last_load(conn, key)
    summary = {
        "latest_release": latest.label if latest else None,
        "published": str(latest.release_date) if latest and latest.release_date else None,
        "last_successful_load": _minute(last_load["success"]),
        "cadence_days": health.cadence_days,
    }
    if latest is None:
        status.add(key, "warning", "nothing loaded yet", f"diaspora run-dags {key}")
        return summary
    withheld = last_withheld(conn, key)
    if withheld is not None:
        summary["held"] = withheld[0]
        status.add(
            key,
            "action",
            f"release {withheld[0]} is held back by the revision policy, waiting for a decision "
            f"(`diaspora diff {key}` shows what it changes)",
            f"diaspora accept {key}",
        )
    if last_load["failed"] and (last_load["success"] is None or last_load["failed"] > last_load["success"]):
        status.add(
            key, "action", f"the last load failed: {last_load['message']}", f"airflow dags trigger {key}"
        )
    age = release_age_days(source.release_date(latest.label) or latest.release_date)
    summary["age_days"] = age
    if age is not None and age > health.cadence_days:
        status.add(
            key,
            "warning",
            f"latest release {latest.label} is {age} days old (expected at most {health.cadence_days}): "
            "check whether the publisher moved or a newer edition exists",
        )
    warnings = _open_warnings(conn, key, latest.content_sha256)
    summary["open_warnings"] = warnings
    if warnings:
        status.add(key, "warning", f"{warnings} validation warning(s) on release {latest.label} to review")
    if not any(f.area == key and f.level != "ok" for f in status.findings):
        status.add(key, "ok", f"release {latest.label} loaded {summary['last_successful_load']}")
    return summary


def _minute(moment: datetime | str | None) -> str | None:
    """A timestamp to the minute, in UTC (DuckDB and PostgreSQL return it differently)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _last_load(conn, key: str) -> dict:  # noqa: ANN001 - a connection
    import sqlalchemy as sa

    row = conn.execute(
        sa.text(
            "SELECT max(CASE WHEN status = 'success' THEN finished_at END),"
            " max(CASE WHEN status IN ('failed', 'validation_failed') THEN finished_at END)"
            " FROM etl.load_run WHERE source = :s"
        ),
        {"s": key},
    ).one()
    message = None
    if row[1] is not None:
        message = conn.execute(
            sa.text(
                "SELECT message FROM etl.load_run WHERE source = :s"
                " AND status IN ('failed', 'validation_failed') ORDER BY finished_at DESC LIMIT 1"
            ),
            {"s": key},
        ).scalar_one()
    first_line = (str(message or "").strip().splitlines() or [""])[0][:200]
    return {"success": row[0], "failed": row[1], "message": first_line}


def _open_warnings(conn, key: str, content_sha256: str) -> int:  # noqa: ANN001 - a connection
    import sqlalchemy as sa

    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM etl.validation_result WHERE source = :s AND content_sha256 = :c"
                " AND NOT success AND severity = 'warning'"
            ),
            {"s": key, "c": content_sha256},
        ).scalar_one()
    )


def _surveys(settings: Settings, status: Status) -> None:
    inbox = settings.survey_inbox_dir
    quarantine = inbox.parent / "quarantine"
    waiting = _files(inbox)
    quarantined = [p for p in _files(quarantine) if not p.name.endswith(".error.json")]
    if quarantined:
        status.add(
            "surveys",
            "action",
            f"{len(quarantined)} file(s) in quarantine ({quarantine}); each has <file>.error.json saying why",
            "fix the file and drop it in the inbox again",
        )
    status.add("surveys", "ok", f"{len(waiting)} file(s) waiting in the inbox ({inbox})")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _airflow(settings: Settings, status: Status) -> None:
    """The pool warehouse tasks wait in (without it they stay 'scheduled' forever) and the DAGs the
    DAG processor has parsed, from Airflow's metadata database."""
    try:
        from airflow.models.dag import DagModel
        from airflow.models.errors import ParseImportError
        from airflow.models.pool import Pool
        from airflow.utils.session import create_session

        with create_session() as session:
            pool = Pool.get_pool(settings.warehouse_pool, session=session)
            parsed = {d.dag_id: d for d in session.query(DagModel).all()}
            errors = [e.filename for e in session.query(ParseImportError).all()]
    except Exception as exc:  # noqa: BLE001 - whatever stops the metadata DB, said in one line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        status.add(
            "airflow", "action", f"Airflow's metadata database cannot be read: {reason}", "airflow db migrate"
        )
        return
    if pool is None:
        status.add(
            "airflow",
            "action",
            f"no pool {settings.warehouse_pool}: every warehouse task would wait in 'scheduled' forever",
            "diaspora pool",
        )
    else:
        status.add("airflow", "ok", f"pool {settings.warehouse_pool}: {pool.slots} slot(s)")
    expected = [*_source_keys(), *OTHER_DAGS]
    missing = [dag_id for dag_id in expected if dag_id not in parsed or parsed[dag_id].is_stale]
    if errors:
        status.add(
            "airflow",
            "action",
            f"DAG file(s) failing to import: {', '.join(errors)}",
            "airflow dags list-import-errors",
        )
    if missing:
        status.add(
            "airflow",
            "action",
            f"DAG(s) not parsed by the DAG processor: {', '.join(missing)}",
            "airflow dag-processor (check its log), or `make demo` for the embedded default",
        )
    else:
        status.add("airflow", "ok", f"{len(expected)} DAGs parsed")


def format_status(status: Status) -> str:
    marks = {"ok": "ok ", "warning": "!  ", "action": "ACT"}
    lines = [f"diaspora status, {status.checked_at}"]
    if status.sources:
        lines.append("")
        lines.append(f"{'source':<30} {'latest release':<34} {'published':<11} last successful load")
        for key, s in status.sources.items():
            loaded = (s.get("last_successful_load") or "never")[:16]
            release = (s.get("latest_release") or "—")[:34]
            lines.append(f"{key:<30} {release:<34} {s.get('published') or '—':<11} {loaded}")
    lines.append("")
    for finding in sorted(status.findings, key=lambda f: (-LEVELS.index(f.level), f.area)):
        run = f"  → run: {finding.run}" if finding.run and finding.level != "ok" else ""
        lines.append(f"[{marks[finding.level]}] {finding.area}: {finding.what}{run}")
    needs = sum(f.level == "action" for f in status.findings)
    lines.append("")
    lines.append(f"{needs} thing(s) need a person" if needs else "nothing needs a person")
    return "\n".join(lines)
