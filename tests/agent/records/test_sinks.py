"""Sinks against real peers: HTTP server, Alertmanager, SMTP with STARTTLS, a program.

Events come from the real engine on the real store and leave through the real outbox.
"""

from __future__ import annotations

import json
import stat
import sys
import time
import uuid

import pytest

from l4agent.agent.records import render
from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.outbox import Outbox
from l4agent.agent.records.service import RecordsService
from l4agent.agent.records.sinks import build_sinks
from tests.agent.records.conftest import VALUE, make_config
from tests.support.peers import RecordingHttpServer, SmtpServer

RULE = {"name": "value-high", "metric": VALUE.name, "warning": 0.80, "critical": 0.90}
FAST_RETRY = {"retry_initial": "50ms", "retry_max": "200ms", "renote_interval": "15s"}


def setup(tmp_path, store, sinks, rule=RULE, records=FAST_RETRY):
    config = make_config(tmp_path, [rule], records=records, sinks=sinks)
    engine = RecordEngine(store, config, "db1", sinks=[s.name for s in config.sinks], rules=list(config.thresholds))
    outbox = Outbox(store, build_sinks(config.sinks), config.records.retry_initial, config.records.retry_max)
    return config, engine, outbox


def breach_story(engine, values=(0.85, 0.85, 0.5, 0.85), start=0.0):
    """opened, noted, resolved, reopened (renote 15s, 15s apart)."""
    for i, value in enumerate(values):
        engine.evaluate_samples([VALUE(value)], now=start + 15 * i)


def drain(outbox, name, timeout=10.0):
    deadline = time.monotonic() + timeout
    while outbox.deliver_due(name) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"outbox of {name} not empty after {timeout}s")
        time.sleep(0.05)


# -- webhook --------------------------------------------------------------------------------------


def test_webhook_down_then_up_gets_every_event_once_and_in_order(tmp_path, store, http_sink):
    token_file = tmp_path / "token"
    token_file.write_text("tok-" + uuid.uuid4().hex + "\n")
    token_file.chmod(0o600)
    _, engine, outbox = setup(tmp_path, store, [{"type": "webhook", "name": "hook", "url": http_sink.url + "/work",
                                                 "token_file": str(token_file)}])
    breach_story(engine)
    http_sink.down()
    assert outbox.deliver_due("hook") is not None  # connection refused: retry later
    head = store.outbox_head("hook")
    assert head.attempts == 1 and "cannot reach" in store.deliveries(head.record_id)[0]["last_error"]
    assert outbox.failures["hook"] == 1
    http_sink.up()
    drain(outbox, "hook")
    requests = http_sink.requests
    events = [r.json() for r in requests]
    assert [e["event"] for e in events] == ["opened", "noted", "resolved", "reopened"]
    keys = [r.headers["idempotency-key"] for r in requests]
    assert keys == [e["idempotency_key"] for e in events] and len(set(keys)) == 4
    assert {r.route for r in requests} == {"/work"}
    assert requests[0].headers["authorization"] == "Bearer " + token_file.read_text().strip()
    assert requests[0].headers["content-type"] == "application/json"
    assert events[0]["record"]["status"] == "open" and events[2]["record"]["result"] == "Passed"
    assert events[1]["note"]["text"].startswith("value 0.85")
    assert store.outbox_counts() == {}


def test_webhook_4xx_is_parked_visibly_and_the_queue_moves_on(tmp_path, store, http_sink):
    answers = iter([(422, {"error": "field 'priority' unknown"})])
    http_sink.set_handler(lambda req: next(answers, (200, {})))
    config, engine, outbox = setup(tmp_path, store, [{"type": "webhook", "name": "hook", "url": http_sink.url}])
    breach_story(engine, (0.85, 0.85))
    drain(outbox, "hook")
    assert len(http_sink.requests) == 2  # the parked one is not retried
    record = store.list_records()[0]
    deliveries = store.deliveries(record.id)
    assert [d["status"] for d in deliveries] == ["parked", "delivered"]
    shown = render.markdown(record.to_dict(), deliveries)
    assert "PARKED: HTTP 422" in shown and "field 'priority' unknown" not in shown  # receiver bodies stay out
    service = RecordsService(config, "db1", store)
    metrics = {(s.name, tuple(s.labels.items())): s.value for s in service.samples()}
    assert metrics[("l4agent_sink_parked_events", (("sink", "hook"),))] == 1
    assert metrics[("l4agent_sink_pending_events", (("sink", "hook"),))] == 0
    assert metrics[("l4agent_work_records_open", (("priority", "P2"),))] == 1


def test_webhook_retries_5xx_and_honours_retry_after(tmp_path, store, http_sink):
    http_sink.respond_with(503, "busy", {"Retry-After": "0"})
    _, engine, outbox = setup(tmp_path, store, [{"type": "webhook", "name": "hook", "url": http_sink.url}])
    breach_story(engine, (0.85,))
    assert outbox.deliver_due("hook") is not None
    assert store.outbox_head("hook").attempts == 1
    http_sink.respond_with(200)
    drain(outbox, "hook")
    assert len(http_sink.requests) == 2


def test_webhook_verifies_tls(tmp_path, store, throwaway_ca):
    cert = throwaway_ca.issue()
    with RecordingHttpServer(ssl_context=cert.server_context()) as https:
        sinks = [{"type": "webhook", "name": "strict", "url": https.url},
                 {"type": "webhook", "name": "private-ca", "url": https.url, "ca_file": throwaway_ca.ca_cert}]
        _, engine, outbox = setup(tmp_path, store, sinks)
        breach_story(engine, (0.85,))
        assert outbox.deliver_due("strict") is not None
        assert "certificate verify failed" in store.deliveries(1)[-1]["last_error"].lower()
        drain(outbox, "private-ca")
        assert len([r for r in https.requests if r.method == "POST"]) == 1


# -- alertmanager ---------------------------------------------------------------------------------


def test_alertmanager_alert_appears_and_ends_on_resolution(tmp_path, store, alertmanager):
    name = f"test-{uuid.uuid4().hex[:8]}"
    _, engine, outbox = setup(tmp_path, store, [{"type": "alertmanager", "name": "am", "url": alertmanager.url}],
                              rule={**RULE, "name": name}, records={})
    engine.evaluate_samples([VALUE(0.95)], now=time.time())
    drain(outbox, "am")
    (alert,) = alertmanager.wait_for_alerts(filter=[f'alertname="{name}"'])
    assert alert["labels"] == {"alertname": name, "severity": "critical", "priority": "P1", "instance": "db1",
                               "target": "db1", "object": VALUE.name, "environment": "production"}
    assert alert["status"]["state"] == "active"
    assert alert["annotations"]["record"] == f"#{store.list_records()[0].id}"
    engine.evaluate_samples([VALUE(0.1)], now=time.time())
    drain(outbox, "am")
    deadline = time.monotonic() + 10
    while alertmanager.alerts(filter=[f'alertname="{name}"']):
        assert time.monotonic() < deadline, "the alert did not end"
        time.sleep(0.1)


# -- smtp -----------------------------------------------------------------------------------------


def test_smtp_starttls_login_plain_and_html(tmp_path, store, throwaway_ca):
    cert = throwaway_ca.issue()
    password_file = tmp_path / "smtp.pw"
    password_file.write_text("m4il-pass-" + uuid.uuid4().hex[:6])
    password_file.chmod(0o600)
    with SmtpServer(tls_context=cert.server_context(), require_starttls=True, user="l4agent",
                    password=password_file.read_text()) as smtp:
        sink = {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": smtp.port, "ca_file": throwaway_ca.ca_cert,
                "username": "l4agent", "password_file": str(password_file), "mail_from": "l4agent@db1",
                "mail_to": ["l4@example.com", "oncall@example.com"]}
        _, engine, outbox = setup(tmp_path, store, [sink])
        breach_story(engine, (0.95,))
        drain(outbox, "mail")
        (mail,) = smtp.wait_for(1)
    assert mail.tls and mail.login == "l4agent"
    assert mail.rcpt_tos == ["l4@example.com", "oncall@example.com"]
    assert mail.subject == "[l4agent P1] OPENED #1 l4agent_test_value on db1"
    assert "## Problems and findings" in mail.text() and "## Requests and recommendations" in mail.text()
    html = mail.message.get_body(preferencelist=("html",)).get_content()
    assert "<h2>Related</h2>" in html
    assert password_file.read_text() not in mail.data.decode()


def test_smtp_bad_login_is_parked(tmp_path, store, throwaway_ca, monkeypatch):
    cert = throwaway_ca.issue()
    monkeypatch.setenv("L4_TEST_SMTP_PW", "wrong-password")
    with SmtpServer(tls_context=cert.server_context(), user="l4agent", password="right-password") as smtp:
        sink = {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": smtp.port, "ca_file": throwaway_ca.ca_cert,
                "username": "l4agent", "password_env": "L4_TEST_SMTP_PW", "mail_to": ["l4@example.com"]}
        _, engine, outbox = setup(tmp_path, store, [sink])
        breach_story(engine, (0.95,))
        drain(outbox, "mail")
    (delivery,) = store.deliveries(1)
    assert delivery["status"] == "parked" and "535" in delivery["last_error"]
    assert "wrong-password" not in delivery["last_error"]


# -- command --------------------------------------------------------------------------------------


def write_script(tmp_path, body: str) -> str:
    path = tmp_path / "sink.py"
    path.write_text(f"#!{sys.executable}\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_command_gets_the_event_json_on_stdin(tmp_path, store):
    out = tmp_path / "received.jsonl"
    script = write_script(tmp_path, f"""
import json, os, sys
event = json.load(sys.stdin)
with open({str(out)!r}, "a") as handle:
    handle.write(json.dumps({{"event": event, "env": os.environ["L4_EVENT"],
                              "key": os.environ["L4_IDEMPOTENCY_KEY"]}}) + "\\n")
""")
    _, engine, outbox = setup(tmp_path, store, [{"type": "command", "name": "erp", "command": [script, "--queue", "L4"]}])
    breach_story(engine)
    drain(outbox, "erp")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["env"] for line in lines] == ["opened", "noted", "resolved", "reopened"]
    assert all(line["key"] == line["event"]["idempotency_key"] for line in lines)
    assert lines[0]["event"]["record"]["fingerprint"] == "value-high|db1|l4agent_test_value"


@pytest.mark.parametrize(("code", "parked"), [(65, True), (1, False), (75, False)])
def test_command_exit_codes(tmp_path, store, code, parked):
    script = write_script(tmp_path, f"import sys; sys.stdin.read(); sys.stderr.write('api said no\\n'); sys.exit({code})")
    _, engine, outbox = setup(tmp_path, store, [{"type": "command", "name": "erp", "command": [script]}])
    breach_story(engine, (0.85,))
    outbox.deliver_due("erp")
    (delivery,) = store.deliveries(1)
    assert delivery["status"] == ("parked" if parked else "pending")
    assert delivery["last_error"].endswith(f"exited {code}: api said no")
