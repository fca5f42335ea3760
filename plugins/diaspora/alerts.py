"""Alerts: what broke, where, and what was held back — from the alert alone.

Every task and DAG of the project gets these callbacks. A task alerts on its final failure only
(a retry is a log line); the DAG alerts only when no task did (a timeout, say), so one failure
gives one alert per target. Targets are enabled by configuration: Slack through the Airflow
Slack provider's notifier (a ``slackwebhook`` connection), email through the SMTP provider's
notifier (``smtp_default``), and a generic JSON webhook (``DIASPORA_ALERT_WEBHOOK_URL``). With
none configured, the alert is written to the task log, marked ``DIASPORA ALERT``. Connection
secrets are never part of an alert; webhook addresses are never logged.

Only the standard library is imported at module level: DAG files import this module.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("diaspora.alerts")

ALERT_MARK = "DIASPORA ALERT"
SENT: list[Alert] = []  # the alerts this process sent, for `diaspora run-dags` to summarise
HOLD_BACK_EXPECTATIONS = {"expect_table_row_count_to_be_between"}
HOLD_BACK_COLUMNS = {"change_vs_previous"}


@dataclass
class Alert:
    # failure | parse_failed | validation_failed | held_back | quarantined | new_edition_held |
    # validation_warning | revision_warning | staleness | release_loaded
    kind: str
    severity: str  # error | warning | info
    title: str
    what: str
    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: str | None = None
    release: str | None = None
    held_back: str | None = None
    expectations: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    changes: dict | None = None  # what the release changed against the previous one (summary)
    revisions: list[dict] = field(default_factory=list)  # country totals revised beyond the policy
    log_url: str | None = None
    data_docs_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The alert as JSON for a webhook: every text field capped (a huge cell stays out)."""
        return {k: capped(v, MAX_WHAT) if isinstance(v, str) else v for k, v in asdict(self).items()}

    def as_text(self) -> str:
        lines = [
            f"[{self.severity.upper()}] {self.title}",
            f"DAG: {self.dag_id}  task: {self.task_id}  run: {self.run_id}  at: {self.time}",
            f"Source: {self.source}  release: {self.release or 'unknown'}",
            f"{'What failed' if self.severity == 'error' else 'What happened'}: {self.what}",
        ]
        if self.held_back:
            lines.append(f"Held back: {self.held_back}")
        lines += [f"  - {_describe_expectation(e)}" for e in self.expectations]
        for q in self.quarantined:
            lines.append(f"  - quarantined {q['path']}: {'; '.join(q['reasons'])}")
        if self.changes:
            lines += _describe_changes(self.changes)
        if self.revisions:
            lines.append("Country totals revised beyond the policy's threshold:")
            lines += [f"  - {change_line(item)}" for item in self.revisions]
        if self.log_url:
            lines.append(f"Task log: {self.log_url}")
        if self.data_docs_url:
            lines.append(f"Data Docs: {self.data_docs_url}")
        return capped("\n".join(lines), MAX_ALERT_TEXT)


def _describe_expectation(item: dict) -> str:
    """One line per expectation: severity, name, column, failing rows and the top values with counts."""
    text = f"[{item.get('severity', 'critical')}] {item['expectation_type']}"
    text += f" on {item['column']}" if item.get("column") else ""
    if item.get("unexpected_count") is not None:
        count = item["unexpected_count"]
        text += f": {count:,} failing row{'' if count == 1 else 's'}"
    from diaspora.validation import display

    values, rows = item.get("values") or [], item.get("rows") or []
    if rows:
        text += "; rows: " + "; ".join(f"{key} = {display(value)}" for key, value in rows)
        hidden = (item.get("unexpected_count") or 0) - len(rows)
        if hidden > 0:
            text += f" and {hidden:,} more"
    elif values:
        text += "; values: " + "; ".join(f"{_value_text(v)} × {c:,}" for v, c in values)
        hidden = (item.get("distinct_unexpected") or 0) - len(values)
        if hidden > 0:
            text += f" and {hidden:,} more"
    if item.get("observed_value") is not None:
        text += f"; observed {item['observed_value']}"
    return text


def change_line(item: dict) -> str:
    from diaspora.revisions import change_line as line

    return line(item)


def accept_command(source: str | None) -> str:
    """The one command that loads the release the policy held back last, and its DAG form."""
    return f'`diaspora accept {source or "SOURCE"}` (or trigger the DAG with conf {{"accept": true}})'


def _describe_changes(changes: dict) -> list[str]:
    """What a release changed: counts per kind, what appeared or vanished, the largest revisions."""
    if not changes.get("rows_old"):
        return [f"Changes: the source's first release ({changes.get('rows_new', 0):,} values)"]
    lines = [
        f"Changes against the previous release: {changes['revised']:,} revised, {changes['added']:,} added, "
        f"{changes['removed']:,} removed, {changes['unchanged']:,} unchanged "
        f"({changes['rows_old']:,} values before, {changes['rows_new']:,} now)"
    ]
    for name in ("countries_added", "countries_removed", "years_added", "years_removed"):
        if changes.get(name):
            shown = ", ".join(str(v) for v in changes[name][:20])
            more = len(changes[name]) - 20
            lines.append(f"  {name.replace('_', ' ')}: {shown}{f' and {more} more' if more > 0 else ''}")
    if changes.get("largest_totals"):
        lines.append("Largest revisions of country totals:")
        lines += [f"  - {change_line(item)}" for item in changes["largest_totals"]]
    if changes.get("largest_absolute"):
        lines.append("Largest revisions of single values:")
        lines += [f"  - {change_line(item)}" for item in changes["largest_absolute"]]
    return lines


def _value_text(value: object) -> str:
    """A value as in the task log (JSON turned several columns' values into a list)."""
    from diaspora.validation import display

    return display(tuple(value) if isinstance(value, list) else value)


# --- building alerts from an Airflow callback context -------------------------------------------


def _root_cause(exception: BaseException | None) -> BaseException | None:
    while exception is not None and exception.__cause__ is not None:
        exception = exception.__cause__
    return exception


def _release_from_xcom(ti: Any) -> str | None:
    """The release named by this run's extract (its landing manifest), if it got that far."""
    try:
        landing_dir = ti.xcom_pull(task_ids="extract")
        if not landing_dir:
            return None
        from diaspora.landing import Manifest

        return Manifest.read(landing_dir).release_label
    except Exception:  # noqa: BLE001 - an alert must still go out
        return None


def _log_url(ti: Any, settings: Any) -> str | None:
    url = getattr(ti, "log_url", None)
    if url:
        return url
    if ti is None:
        return None
    base = settings.airflow_base_url.rstrip("/")
    return f"{base}/dags/{ti.dag_id}/runs/{ti.run_id}/tasks/{ti.task_id}?try_number={ti.try_number}"


def alert_from_context(context: dict, settings: Any) -> Alert:
    from diaspora.errors import ParseError, ReleaseQuarantined, ValidationFailed

    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
    exception = context.get("exception")
    cause = _root_cause(exception)
    base = {
        "dag_id": dag_id,
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "source": dag_id,
        "log_url": _log_url(ti, settings),
    }
    if isinstance(cause, ReleaseQuarantined):
        return Alert(
            kind="quarantined",
            severity="error",
            title=f"{dag_id}: release {cause.release} quarantined by the revision policy",
            what="; ".join(cause.breaches),
            release=cause.release,
            held_back=(
                f"release {cause.release} of {dag_id}: nothing was loaded. Load it on purpose after review: "
                + accept_command(dag_id)
            ),
            changes=cause.changes,
            **base,
        )
    if isinstance(cause, ValidationFailed):
        expectations = list(cause.failures)
        held = any(
            e.get("severity", "critical") == "critical"
            and (e["expectation_type"] in HOLD_BACK_EXPECTATIONS or e.get("column") in HOLD_BACK_COLUMNS)
            for e in expectations
        )
        kind = "held_back" if held else "validation_failed"
        title = (
            f"{dag_id}: release {cause.release} held back (it differs too much from the previous release)"
            if held
            else f"{dag_id}: validation failed, release {cause.release} not loaded"
        )
        return Alert(
            kind=kind,
            severity="error",
            title=title,
            what=f"{sum(e.get('severity', 'critical') == 'critical' for e in expectations)} critical "
            f"expectation(s) failed ({len(expectations)} in all)",
            release=cause.release,
            held_back=f"release {cause.release} of {dag_id}: nothing was loaded",
            expectations=expectations,
            data_docs_url=cause.docs_url,
            **base,
        )
    if isinstance(cause, ParseError):
        return _parse_failed(cause, ti, base)
    what = f"{type(cause).__name__}: {cause}" if cause else "see the task log"
    return Alert(
        kind="failure",
        severity="error",
        title=f"{dag_id}: task {base['task_id']} failed",
        what=what.splitlines()[0][:1000],
        release=_release_from_xcom(ti) if ti else None,
        held_back=f"everything after {base['task_id']} in run {base['run_id']}: nothing was loaded",
        **base,
    )


MAX_WHAT = 1500  # characters of an error's text in an alert (Slack refuses long messages)
MAX_ALERT_TEXT = 3500  # characters of a whole alert: Slack shows (and accepts) a message this long


def capped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out and where it is."""
    if len(text) <= limit:
        return text
    note = f"\n… {len(text) - limit + 80:,} more characters: see the task log"
    return text[: limit - 80] + note


def slack_escaped(text: str) -> str:
    """Slack's own escaping: '<!channel>', '<@U…>' and '<url|text>' in a file become plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def redacted_reason(reason: str) -> str:
    """A quarantine reason as an alert may carry it: column, count and file rows, never the values
    found in the file (those stay in the quarantine report beside the file)."""
    if reason.startswith("unexpected error: "):  # an exception's text may quote the file
        kind = reason.removeprefix("unexpected error: ").split(":", 1)[0]
        return f"unexpected error: {kind} (details in the quarantine report)"
    if ", e.g. " not in reason:
        return capped(reason, 300)
    head = reason.split(", e.g. ", 1)[0]
    rows = re.findall(r"at rows \[[^\]]*\]", reason)
    return capped(head + (" " + "; ".join(rows) if rows else "") + " (values in the quarantine report)", 300)


def _parse_failed(cause: BaseException, ti: Any, base: dict) -> Alert:
    """A payload its parser refuses (a changed layout, schema drift): every difference, and how
    to re-parse the stored landing once the parser is changed (no new download)."""
    landing = None
    try:
        landing = ti.xcom_pull(task_ids="extract") if ti else None
    except Exception:  # noqa: BLE001 - an alert must still go out
        landing = None
    release = _release_from_xcom(ti) if ti else None
    label = release or "(unlabelled)"
    text = str(cause)
    reparse = (
        f"; the payload stays in its landing {landing}: once the parser reads it, load it without a new "
        f"download: `diaspora backfill {base['dag_id']} {landing}`"
        if landing
        else ""
    )
    return Alert(
        kind="parse_failed",
        severity="error",
        title=f"{base['dag_id']}: release {label} refused: its payload is not in a readable form",
        what=text if len(text) <= MAX_WHAT else text[: MAX_WHAT - 1] + "…",
        release=release,
        held_back=f"release {label}: nothing was loaded (no retry: the file will not change)" + reparse,
        **base,
    )


# --- sending -------------------------------------------------------------------------------------


def send(alert: Alert, settings: Any, context: dict | None = None) -> list[str]:
    """Deliver to every configured target, each tried :data:`DELIVERY_ATTEMPTS` times; return the
    targets reached. Never raises; an alert no target took is appended to
    ``<data_dir>/alerts/undelivered.jsonl`` (and logged whole), never silently lost."""
    reached, failed = [], []
    SENT.append(alert)
    log.warning("%s\n%s", ALERT_MARK, alert.as_text())
    targets = {
        "slack": settings.alert_slack_conn_id and (lambda: _send_slack(alert, settings, context)),
        "email": settings.alert_email_to and (lambda: _send_email(alert, settings, context)),
        "webhook": settings.alert_webhook_url and (lambda: _send_webhook(alert, settings)),
    }
    for name, deliver in targets.items():
        if not deliver:
            continue
        if _delivered(name, deliver):
            reached.append(name)
        else:
            failed.append(name)
    if failed:
        _keep_undelivered(alert, failed, settings)
    if not reached:
        log.warning("%s: no alert target configured or reachable; the alert above is the record.", ALERT_MARK)
    return reached


DELIVERY_ATTEMPTS = 3


def _delivered(name: str, deliver: Any) -> bool:
    for attempt in range(1, DELIVERY_ATTEMPTS + 1):
        try:
            deliver()
            return True
        except Exception as exc:  # noqa: BLE001 - one broken target must not stop the others
            log.error(
                "%s: could not deliver the alert to %s (attempt %d of %d): %s",
                ALERT_MARK,
                name,
                attempt,
                DELIVERY_ATTEMPTS,
                type(exc).__name__,
            )
            if attempt < DELIVERY_ATTEMPTS:
                time.sleep(0.5 * 2 ** (attempt - 1))
    return False


def _keep_undelivered(alert: Alert, targets: list[str], settings: Any) -> None:
    """The alert a target refused, as one JSON line an operator (or a later run) can replay."""
    try:
        folder = Path(settings.data_dir) / "alerts"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "undelivered.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"targets": targets, **alert.as_dict()}, default=str) + "\n")
        log.error("%s: kept for %s in %s", ALERT_MARK, ", ".join(targets), folder / "undelivered.jsonl")
    except OSError as exc:
        log.error("%s: could not keep the undelivered alert either: %s", ALERT_MARK, exc)


def _send_slack(alert: Alert, settings: Any, context: dict | None) -> None:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    SlackWebhookNotifier(
        slack_webhook_conn_id=settings.alert_slack_conn_id, text=slack_escaped(alert.as_text())
    ).notify(context or {})


def _send_email(alert: Alert, settings: Any, context: dict | None) -> None:
    from html import escape

    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    SmtpNotifier(
        to=[a.strip() for a in settings.alert_email_to.split(",") if a.strip()],
        subject=alert.title,
        html_content=f"<pre>{escape(alert.as_text())}</pre>",
        smtp_conn_id=settings.alert_smtp_conn_id,
    ).notify(context or {})


def _send_webhook(alert: Alert, settings: Any) -> None:
    from diaspora.http_client import build_session, post_json

    post_json(build_session(settings), settings.alert_webhook_url, alert.as_dict(), settings)


# --- Airflow callbacks ---------------------------------------------------------------------------


def on_task_failure(context: dict) -> None:
    """Task ``on_failure_callback``: Airflow calls it on the final failure only."""
    from diaspora.settings import get_settings

    settings = get_settings()
    send(alert_from_context(context, settings), settings, context)


def on_task_retry(context: dict) -> None:
    """Task ``on_retry_callback``: a retry is a log line, not an alert."""
    ti = context.get("task_instance") or context.get("ti")
    log.info(
        "Task %s will be retried (try %s failed); no alert is sent for a retry.",
        getattr(ti, "task_id", "?"),
        getattr(ti, "try_number", "?"),
    )


def on_dag_failure(context: dict) -> None:
    """DAG ``on_failure_callback``: alerts only when no task failure was alerted already.

    Airflow gives the reason: 'task_failure' means a task's own callback has sent the alert.
    """
    if context.get("reason") == "task_failure":
        ti = context.get("task_instance")
        log.info("DAG run failed in task %s; that task's alert covers it.", getattr(ti, "task_id", "?"))
        return
    from diaspora.settings import get_settings

    settings = get_settings()
    send(alert_from_context(context, settings), settings, context)


def _send_warning(
    source: str, release: str | None, context: dict | None, severity: str = "warning", **fields: Any
) -> list[str]:
    """A warning (or a notice) about ``source`` from the task in ``context`` (if any): the run goes on."""
    from diaspora.settings import get_settings

    settings = get_settings()
    ti = (context or {}).get("ti")
    alert = Alert(
        severity=severity,
        dag_id=getattr(ti, "dag_id", source),
        task_id=getattr(ti, "task_id", None),
        run_id=(context or {}).get("run_id"),
        source=source,
        release=release,
        log_url=_log_url(ti, settings) if ti else None,
        **fields,
    )
    return send(alert, settings, context)


def send_validation_warning(
    source: str,
    release: str | None,
    warnings: list[dict],
    loaded_rows: int,
    flagged_rows: int,
    context: dict | None = None,
    diff: dict | None = None,
) -> list[str]:
    """A release loaded although warning expectations failed: say which, and what was flagged;
    the country totals the revision policy flags travel in the same alert (one load, one warning)."""
    revised = (diff or {}).get("revised_totals") or []
    what = f"{len(warnings)} warning expectation(s) failed (plausibility, new codes or revisions)"
    if revised:
        what += (
            f"; {(diff or {}).get('revised_totals_count', len(revised)):,} country total(s) revised beyond "
        )
        what += "the policy's threshold (config/source_health.yml)"
    if (diff or {}).get("status") == "accepted":
        what += "; loaded on purpose after review: " + "; ".join(diff["breaches"])
    return _send_warning(
        source,
        release,
        context,
        kind="validation_warning",
        title=f"{source}: release {release} loaded with {len(warnings)} warning(s) to review",
        what=what,
        held_back=(
            f"nothing: {loaded_rows:,} rows of release {release} were loaded; {flagged_rows:,} of them "
            "carry quality_flags naming the warning (filter or review them in the fact table)"
        ),
        expectations=warnings,
        revisions=revised,
    )


def send_staleness_warning(
    source: str, release: str | None, age_days: int, cadence_days: int, context: dict | None = None
) -> list[str]:
    return _send_warning(
        source,
        release,
        context,
        kind="staleness",
        title=f"{source}: latest release is {age_days} days old (expected at most {cadence_days})",
        what=f"the source has not published a newer release than {release} within its cadence",
    )


def send_release_loaded(
    source: str, release: str | None, loaded_rows: int, diff: dict | None, context: dict | None = None
) -> list[str]:
    """The success notification: the release is in, and what it changed against the previous one."""
    changes = (diff or {}).get("summary")
    if changes and changes.get("rows_old"):
        from diaspora.revisions import summary_sentence

        title = f"{source}: release loaded. " + summary_sentence(release, changes)
    else:
        title = f"{source}: release {release} loaded ({loaded_rows:,} values; the source's first release)"
    return _send_warning(
        source,
        release,
        context,
        kind="release_loaded",
        severity="info",
        title=title,
        what=f"release {release} of {source} was loaded: {loaded_rows:,} rows counted back",
        held_back="nothing",
        changes=changes,
    )


def send_new_edition_held(diff: dict, accept: str, context: dict | None = None) -> list[str]:
    """A new edition waits for review: what it changes against the current edition, the country
    totals it moves most, and the one command that accepts it. Nothing failed; nothing was loaded."""
    source, release, current = diff["source"], diff["new_release_label"], diff["old_release_label"]
    return _send_warning(
        source,
        release,
        context,
        kind="new_edition_held",
        title=f"{source}: new edition {release} held for review before it replaces {current}",
        what=diff["breaches"][0],
        held_back=f"{release}: nothing was loaded; {current} stays current everywhere. Accept it: {accept}",
        changes={
            **{k: v for k, v in diff["summary"].items() if k != "largest_relative"},
            "largest_absolute": diff["summary"]["largest_absolute"][:3],
        },
    )


def send_revision_warning(
    source: str, release: str | None, diff: dict, context: dict | None = None
) -> list[str]:
    """Country totals revised beyond the policy's threshold, or a release loaded on purpose
    although the policy quarantines it: the release is in; these values need a look."""
    count = diff.get("revised_totals_count", 0)
    what = f"{count:,} country total(s) revised by more than the policy allows (config/source_health.yml)"
    if diff.get("status") == "accepted":
        what = "loaded on purpose after review: " + "; ".join(diff["breaches"])
    return _send_warning(
        source,
        release,
        context,
        kind="revision_warning",
        title=f"{source}: release {release} revises {count:,} country total(s) beyond the threshold",
        what=what,
        held_back="nothing: the release was loaded; the reporting views show its figures",
        changes=diff.get("summary"),
        revisions=diff.get("revised_totals") or [],
    )
