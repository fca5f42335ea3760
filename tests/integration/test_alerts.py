"""Alerts received by real local servers: Slack webhook and generic webhook (pytest-httpserver),
email (aiosmtpd). One failure, one alert per target; retries do not alert; secrets stay out."""

from __future__ import annotations

import html
import json
import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from werkzeug import Response

from diaspora import pipeline
from diaspora.alerts import on_task_failure
from tests.support.dag_helpers import load_dag, states
from tests.support.worldbank_api import FakeWorldBank, synthetic_values

SLACK_TOKEN = "T0001/B0001/slack-secret-token"
WEBHOOK_TOKEN = "webhook-secret-token"
SMTP_PASSWORD = "smtp-secret-password"
SECRETS = (SLACK_TOKEN, "slack-secret-token", WEBHOOK_TOKEN, SMTP_PASSWORD)


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=_free_port(),
        auth_require_tls=False,
        authenticator=lambda server, session, envelope, mechanism, auth: AuthResult(
            success=auth.login == b"alerts" and auth.password == SMTP_PASSWORD.encode()
        ),
    )
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def alert_targets(httpserver, mailbox, monkeypatch, make_settings):
    """Slack, webhook and email all configured, each pointing at a real local receiver."""
    box, smtp_port = mailbox
    received = {"slack": [], "webhook": []}

    def record(name):
        def handler(request):
            received[name].append(request.get_data(as_text=True))
            return Response("ok")

        return handler

    httpserver.expect_request(f"/services/{SLACK_TOKEN}", method="POST").respond_with_handler(record("slack"))
    httpserver.expect_request(f"/hooks/{WEBHOOK_TOKEN}", method="POST").respond_with_handler(
        record("webhook")
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_ALERTS",
        json.dumps(
            {
                "conn_type": "slackwebhook",
                "host": f"localhost:{httpserver.port}/services",
                "schema": "http",
                "password": SLACK_TOKEN,
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_port,
                "login": "alerts",
                "password": SMTP_PASSWORD,
                "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "diaspora@example.org"},
            }
        ),
    )
    settings = {
        "alert_slack_conn_id": "slack_alerts",
        "alert_email_to": "ops@example.org",
        "alert_webhook_url": httpserver.url_for(f"/hooks/{WEBHOOK_TOKEN}"),
    }
    return received, box, settings


RECEIVER_LOGGERS = ("[werkzeug]", "[mail.log]", "werkzeug:", "mail.log:")


def _no_secrets(*texts: str) -> None:
    """No secret in any text; the test's own receivers (which log request paths) are left out."""
    for text in texts:
        ours = "\n".join(line for line in text.splitlines() if not any(r in line for r in RECEIVER_LOGGERS))
        for secret in SECRETS:
            assert secret not in ours


@pytest.mark.e2e
def test_failed_validation_sends_one_complete_alert_per_target(
    airflow_db, httpserver, alert_targets, make_settings, tmp_path, caplog, capfd
):
    received, box, alert_settings = alert_targets
    values = synthetic_values(["BX.TRF.PWKR.CD.DT"], range(2020, 2024))
    values["BX.TRF.PWKR.CD.DT"][2]["countryiso3code"] = "tj"  # breaks the ISO3 expectation
    make_settings(
        worldbank_base_url=FakeWorldBank(values=values, lastupdated="2026-11-01").install(httpserver),
        warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}",
        **alert_settings,
    )

    dag_run = load_dag("worldbank_indicators").test(logical_date=datetime(2026, 11, 20, tzinfo=UTC))

    assert states(dag_run)["validate"] == "failed"
    assert len(received["slack"]) == 1, [json.loads(t)["text"][:400] for t in received["slack"]]
    assert len(received["webhook"]) == 1 and len(box.messages) == 1
    alert = json.loads(received["webhook"][0])
    assert alert["kind"] == "validation_failed" and alert["severity"] == "error"
    assert alert["dag_id"] == "worldbank_indicators" and alert["task_id"] == "validate"
    assert alert["run_id"] == dag_run.run_id and alert["time"]
    assert alert["source"] == "worldbank_indicators" and alert["release"] == "2026-11-01"
    failed = {e["expectation_type"]: e for e in alert["expectations"]}
    regex = failed["expect_column_values_to_match_regex"]
    assert regex["column"] == "country_code" and regex["unexpected_count"] == 1
    assert regex["severity"] == "critical" and regex["values"] == [["tj", 1]]
    assert "nothing was loaded" in alert["held_back"]
    assert alert["log_url"] and "validate" in alert["log_url"]
    assert alert["data_docs_url"].startswith("file://") and alert["data_docs_url"].endswith(".html")
    slack_text = json.loads(received["slack"][0])["text"]
    email = box.messages[0]
    email_body = html.unescape(email.get_body().get_content())
    for text in (slack_text, email_body):
        for field in (
            "worldbank_indicators",
            "validate",
            dag_run.run_id,
            "2026-11-01",
            "expect_column_values_to_match_regex",
            "'tj' × 1",
            "Task log:",
            "Data Docs:",
        ):
            assert field in text
    assert email["To"] == "ops@example.org" and "validation failed" in email["Subject"]
    _no_secrets(
        received["slack"][0], received["webhook"][0], email.as_string(), caplog.text, *capfd.readouterr()
    )


@pytest.mark.e2e
def test_a_task_that_fails_once_then_succeeds_sends_no_alert(
    airflow_db, httpserver, alert_targets, make_settings, tmp_path, monkeypatch
):
    received, box, alert_settings = alert_targets
    monkeypatch.setenv("DIASPORA_TASK_RETRIES", "1")
    monkeypatch.setenv("DIASPORA_TASK_RETRY_DELAY_SECONDS", "1")
    api = FakeWorldBank(values=synthetic_values(["SP.POP.TOTL"], range(2020, 2024)), lastupdated="2026-11-01")
    httpserver.expect_ordered_request("/v2/country").respond_with_data("down", status=503)  # first try only
    make_settings(
        worldbank_base_url=api.install(httpserver),
        warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}",
        http_max_retries=0,
        **alert_settings,
    )

    dag_run = load_dag("worldbank_indicators").test(logical_date=datetime(2026, 11, 21, tzinfo=UTC))

    assert str(dag_run.state) == "success", states(dag_run)
    extract = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "extract")
    assert extract.try_number == 2
    # Only the success notification went out (severity info), to every target: no failure alert.
    kinds = [json.loads(body)["kind"] for body in received["webhook"]]
    assert kinds == ["release_loaded"] and len(received["slack"]) == 1
    assert [m["Subject"] for m in box.messages] == [json.loads(received["webhook"][0])["title"]]
    assert "[INFO]" in json.loads(received["slack"][0])["text"]


def test_row_count_drop_holds_the_release_back_and_alerts(httpserver, alert_targets, make_settings, tmp_path):
    received, _, alert_settings = alert_targets
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    full = FakeWorldBank(values=synthetic_values(["SP.POP.TOTL"], range(2000, 2024)))
    pipeline.run_source(
        "worldbank_indicators",
        make_settings(worldbank_base_url=full.install(httpserver), warehouse_url=url, **alert_settings),
    )
    short = FakeWorldBank(
        values=synthetic_values(["SP.POP.TOTL"], range(2020, 2024)), lastupdated="2025-12-16"
    )
    settings = make_settings(
        worldbank_base_url=short.install(httpserver, prefix="/v2-next"), warehouse_url=url
    )
    with pytest.raises(Exception) as failure:
        pipeline.run_source("worldbank_indicators", settings)

    on_task_failure({"exception": failure.value, "run_id": "manual__drop", "dag": None})

    alert = json.loads(received["webhook"][-1])
    assert alert["kind"] == "held_back" and "2025-12-16 held back" in alert["title"]
    counts = [
        e for e in alert["expectations"] if e["expectation_type"] == "expect_table_row_count_to_be_between"
    ]
    assert counts and counts[0]["observed_value"] == 20


def test_a_stale_source_raises_a_warning(httpserver, alert_targets, make_settings, tmp_path):
    received, _, alert_settings = alert_targets
    old = FakeWorldBank(values=synthetic_values(["SP.POP.TOTL"], range(2015, 2020)), lastupdated="2020-07-01")
    settings = make_settings(
        worldbank_base_url=old.install(httpserver),
        warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}",
        **alert_settings,
    )
    landing_dir = pipeline.extract("worldbank_indicators", settings)

    result = pipeline.check_freshness(landing_dir, settings)

    assert (
        result["stale"]
        and result["age_days"] > 200
        and set(result["alerted"]) == {"slack", "email", "webhook"}
    )
    alert = json.loads(received["webhook"][-1])
    assert alert["kind"] == "staleness" and alert["severity"] == "warning"
    assert alert["release"] == "2020-07-01" and "days old (expected at most 200)" in alert["title"]


def test_without_targets_the_alert_goes_to_the_log_marked(make_settings, caplog):
    make_settings()
    on_task_failure({"exception": RuntimeError("boom"), "run_id": "manual__x", "dag": None})
    assert "DIASPORA ALERT" in caplog.text and "RuntimeError: boom" in caplog.text


def test_a_quarantine_alert_names_each_file_and_its_reasons(alert_targets, make_settings):
    from diaspora.alerts import Alert, send

    received, box, alert_settings = alert_targets
    settings = make_settings(**alert_settings)
    alert = Alert(
        kind="quarantine",
        severity="error",
        title="survey_files: 1 file quarantined",
        what="a file failed its checks",
        dag_id="survey_files",
        task_id="process_file",
        run_id="manual__q",
        source="survey_files",
        release="household_2024.csv",
        held_back="household_2024.csv: nothing from it was loaded",
        quarantined=[
            {
                "path": "quarantine/household_2024.csv",
                "reasons": ["column 'weight' has 3 values <= 0 (rows 4, 9, 12)", "respondent id not unique"],
            }
        ],
    )

    assert set(send(alert, settings)) == {"slack", "email", "webhook"}
    body = json.loads(received["webhook"][-1])
    assert body["quarantined"][0]["path"] == "quarantine/household_2024.csv"
    slack_text = html.unescape(json.loads(received["slack"][-1])["text"])  # Slack shows &lt; as <
    assert "quarantined quarantine/household_2024.csv: column 'weight' has 3 values <= 0" in slack_text
    assert "respondent id not unique" in html.unescape(box.messages[-1].get_body().get_content())


def test_an_alert_for_a_200_code_value_set_stays_short(tmp_path, make_settings):
    """SYNTHETIC: 200 distinct codes outside a 250-code set. The alert names the expectation, the
    column, the failing rows and the 20 most frequent values with counts, never the value set."""
    from diaspora.alerts import alert_from_context
    from diaspora.errors import ValidationFailed
    from diaspora.validation import validate_frame

    known = [f"K{i:03d}" for i in range(250)]
    unknown = [f"U{i:03d}" for i in range(200)]
    codes = known * 4 + [code for i, code in enumerate(unknown) for _ in range(1 + (i == 7) * 9)]
    suite = tmp_path / "codes.json"
    suite.write_text(
        json.dumps(
            {
                "name": "codes",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "code", "value_set": known},
                    }
                ],
            }
        )
    )
    import pandas as pd

    report = validate_frame(pd.DataFrame({"code": codes}), suite)
    failure = ValidationFailed(
        report.failure_message("unhcr_refugees", "UNHCR population 2025"),
        [f.as_alert_item() for f in report.failures],
        source="unhcr_refugees",
        release="UNHCR population 2025",
    )

    alert = alert_from_context(
        {"exception": failure, "run_id": "manual__codes", "dag": None}, make_settings()
    )
    text = alert.as_text()

    assert len(text) < 2000, len(text)
    assert len(str(failure)) < 2000
    for shown in (text, str(failure)):
        assert "expect_column_values_to_be_in_set on code" in shown and "209 failing rows" in shown
        assert "'U007' × 10" in shown
        assert "and 180 more" in shown and "K000" not in shown  # the top 20 of 200, never the set
    first_value = text.index("'U007' × 10")
    assert first_value < text.index("'U000' × 1")  # most frequent first


# --- what a hostile or broken file cannot do to an alert ------------------------------------------


def test_slack_markup_in_an_answer_never_reaches_an_alert(alert_targets, make_settings, tmp_path):
    """SYNTHETIC survey file whose answer is Slack markup: the alert names the column, the count
    and the row; the value stays in the quarantine report beside the file."""
    from diaspora.surveys.process import process_file, report_quarantined
    from tests.integration.test_survey_files import build_survey_settings, frame

    received, box, alert_settings = alert_targets
    settings = build_survey_settings(make_settings, f"duckdb:///{tmp_path / 'w.duckdb'}", tmp_path)
    settings = make_settings(**alert_settings)
    hostile = "<!channel> <https://evil.example/login|Re-enter your password>"
    path = settings.survey_inbox_dir / "tj_lms_2024.csv"
    frame().assign(region=["1", hostile, "3"]).to_csv(path, index=False)

    result = process_file(path, settings)
    assert result["status"] == "quarantined"
    assert set(report_quarantined([result])) == {"slack", "email", "webhook"}

    slack_text = json.loads(received["slack"][-1])["text"]
    webhook = received["webhook"][-1]
    email_body = box.messages[-1].get_body().get_content()
    for text in (slack_text, webhook, html.unescape(email_body)):
        assert "evil.example" not in text and "<!channel>" not in text and "Re-enter" not in text
    assert "on region: 1 unexpected at rows [3] (values in the quarantine report)" in slack_text
    report = json.loads(Path(result["quarantined"] + ".error.json").read_text())
    assert any(hostile in reason for reason in report["reasons"])  # the producer can still fix it


def test_slack_markup_in_any_alert_text_is_escaped(alert_targets, make_settings):
    from diaspora.alerts import Alert, send

    received, _, alert_settings = alert_targets
    settings = make_settings(**alert_settings)
    alert = Alert(kind="failure", severity="error", title="x: failed", what="column '<!here>' & <@U123>")

    assert "slack" in send(alert, settings)
    text = json.loads(received["slack"][-1])["text"]
    assert "&lt;!here&gt;" in text and "&amp; &lt;@U123&gt;" in text and "<!here>" not in text


def test_a_huge_cell_makes_an_alert_slack_still_takes(alert_targets, make_settings):
    from diaspora.alerts import MAX_ALERT_TEXT, Alert, send

    received, _, alert_settings = alert_targets
    settings = make_settings(**alert_settings)
    alert = Alert(
        kind="quarantine",
        severity="error",
        title="survey_files: 1 file(s) quarantined",
        what="survey files failed their checks",
        quarantined=[{"path": "quarantine/tj_lms.csv", "reasons": ["x" * 200_000]}],
    )

    assert set(send(alert, settings)) == {"slack", "email", "webhook"}
    text = json.loads(received["slack"][-1])["text"]
    assert len(text) <= MAX_ALERT_TEXT and "more characters: see the task log" in text


def test_a_refused_delivery_is_retried_then_kept(httpserver, make_settings):
    from diaspora.alerts import Alert, send

    httpserver.expect_ordered_request("/flaky", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky", method="POST").respond_with_data("ok")
    settings = make_settings(alert_webhook_url=httpserver.url_for("/flaky"), http_max_retries=0)
    alert = Alert(kind="failure", severity="error", title="x: task failed", what="synthetic")

    assert send(alert, settings) == ["webhook"]  # the second attempt got through
    assert not (settings.data_dir / "alerts" / "undelivered.jsonl").exists()

    httpserver.expect_request("/down", method="POST").respond_with_data("no", status=500)
    settings = make_settings(alert_webhook_url=httpserver.url_for("/down"))
    assert send(alert, settings) == []
    kept = [
        json.loads(line)
        for line in (settings.data_dir / "alerts" / "undelivered.jsonl").read_text().splitlines()
    ]
    assert kept[-1]["targets"] == ["webhook"] and kept[-1]["title"] == "x: task failed"
    assert sum(1 for request, _ in httpserver.log if request.path == "/down") == 3
