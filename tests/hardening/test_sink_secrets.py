"""Issue 17 items 11 and 12: a webhook URL is a secret as a whole (Slack/Teams put the token in
the path), a receiver's error body stays out of records, and the command sink's program gets
an explicit minimal environment, not the agent's secrets."""

from __future__ import annotations

import json
import logging
import os
import stat

from l4agent.agent.records import render
from l4agent.agent.records.engine import RecordEngine
from l4agent.agent.records.outbox import Outbox
from l4agent.agent.records.sinks import build_sinks
from l4agent.agent.records.sinks.command import command_env
from tests.agent.records.conftest import VALUE, make_config

TOKEN = "T0KEN5ecret9xyzQ"
RULE = {"name": "value-high", "metric": VALUE.name, "warning": 0.8}


def test_webhook_url_path_token_and_receiver_body_never_shown(tmp_path, store, http_sink, capsys):
    url = f"{http_sink.url}/services/hooks/{TOKEN}"
    # the receiver echoes the URL and some markup in its error page
    http_sink.respond_with(404, f"<html><b>no such hook</b> {url} \x1b]52;c;AAAA\x07</html>",
                           {"Content-Type": "text/html"})
    log_file = tmp_path / "serve.log"
    handler = logging.FileHandler(log_file)
    from l4agent.core.redact import RedactingFilter

    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    try:
        config = make_config(tmp_path, [RULE], sinks=[{"type": "webhook", "name": "hook", "url": url}])
        sinks = build_sinks(config.sinks)
        engine = RecordEngine(store, config, "db1", sinks=list(sinks), rules=list(config.thresholds))
        outbox = Outbox(store, sinks)
        engine.evaluate_samples([VALUE(0.9)], now=1000.0)
        outbox.deliver_due("hook")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(previous)
        handler.close()
    assert len(http_sink.requests) == 1 and TOKEN in http_sink.requests[0].path  # it was really sent there
    record = store.list_records()[0]
    deliveries = store.deliveries(record.id)
    (delivery,) = deliveries
    assert delivery["status"] == "parked" and "HTTP 404" in delivery["last_error"]
    shown = render.markdown(record.to_dict(), deliveries) + json.dumps(render.deliveries_summary(deliveries))
    logged = log_file.read_text()
    for where, text in (("outbox.last_error", delivery["last_error"]), ("records show", shown), ("serve.log", logged)):
        assert TOKEN not in text, where
        assert "services/hooks" not in text, where
        assert "no such hook" not in text or where == "serve.log", where  # the body: only the log has it
        assert "\x1b" not in text, where
    assert "no such hook" in logged  # cleaned, for whoever looks into the parked event


def test_command_sink_gets_a_minimal_environment(tmp_path, store, monkeypatch):
    monkeypatch.setenv("L4_ERP_PASSWORD", "db-secret-pw")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    dump = tmp_path / "env.json"
    script = tmp_path / "ticket"
    script.write_text(f"#!/bin/sh\nenv > {dump}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = make_config(tmp_path, [RULE], sinks=[{"type": "command", "name": "erp", "command": [str(script)]}])
    sinks = build_sinks(config.sinks)
    engine = RecordEngine(store, config, "db1", sinks=list(sinks), rules=list(config.thresholds))
    engine.evaluate_samples([VALUE(0.9)], now=1000.0)
    Outbox(store, sinks).deliver_due("erp")
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert "L4_ERP_PASSWORD" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
    assert "db-secret-pw" not in dump.read_text()
    assert seen["L4_EVENT"] == "opened" and seen["LANG"] == "C.UTF-8" and seen["PATH"] == os.environ["PATH"]
    assert set(seen) <= {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "L4_EVENT",
                         "L4_IDEMPOTENCY_KEY", "PWD", "SHLVL", "_", "OLDPWD"}  # the last few: sh's own
    assert set(command_env({"event": "x", "idempotency_key": "k"})) <= {
        "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "L4_EVENT", "L4_IDEMPOTENCY_KEY"}
