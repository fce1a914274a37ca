"""End to end through a real ``l4agent serve`` (1s interval), read back with ``l4agent records``.

The breach is real: a TCP probe to a loopback port the test opens and closes.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import REPO, cli_command, cli_env, free_port
from tests.support.promtools import promtool_check_metrics

pytestmark = pytest.mark.slow


class Serve:
    """``l4agent serve -c CONFIG`` as a subprocess; stderr kept for failure messages."""

    def __init__(self, config: str, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cli_command("serve", "-c", config), env=cli_env(), cwd=REPO,
                                     stdout=self.log, stderr=self.log)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=15) == 0, self.log_path.read_text()[-3000:]
        self.log.close()


def records(run_cli, config: str) -> list[dict]:
    done = run_cli("records", "list", "--format", "json", "-c", config)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["records"]


def wait_for(what: str, probe, timeout: float = 20.0, serve: Serve | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            log = serve.log_path.read_text()[-3000:] if serve else ""
            raise AssertionError(f"timed out waiting for {what}\n{log}")
        time.sleep(0.3)


def probe_config(write_config, tmp_path, port: int, listen: int, extra: str = "") -> str:
    return write_config(f"""
        [agent]
        listen = "127.0.0.1:{listen}"
        interval = "1s"
        state_dir = "{tmp_path}/state"
        hostname = "db1"

        [[probes]]
        name = "erp-port"
        tcp = "127.0.0.1:{port}"
        timeout = "500ms"

        [[thresholds]]
        name = "erp-port-down"
        metric = "l4agent_probe_success"
        labels = {{ probe = "erp-port" }}
        direction = "below"
        critical = 1
        summary = "ERP port not answering"
        recommendation = "Start the ERP service. Check its log."
        {extra}
        """)


def test_lifecycle_restart_and_webhook_delivery(tmp_path, write_config, run_cli, http_sink):
    port = free_port()  # nothing listens: the probe fails, the rule is breached
    config = probe_config(write_config, tmp_path, port, free_port(), f"""
        [records]
        renote_interval = "1s"
        reopen_window = "1h"
        retry_initial = "200ms"
        retry_max = "1s"

        [[sinks]]
        type = "webhook"
        name = "hook"
        url = "{http_sink.url}/hook"
        """)
    http_sink.down()  # the ticket system is down at first: connection refused
    serve = Serve(config, tmp_path / "serve.log")
    try:
        found = wait_for("a record with 3 notes", lambda: [r for r in records(run_cli, config) if len(r["notes"]) >= 3],
                         serve=serve)
        record = found[0]
        assert (record["status"], record["result"], record["priority"]) == ("open", "Failed", "P1")
        assert record["fingerprint"] == "erp-port-down|erp-port|l4agent_probe_success"
        assert record["related"]["target"] == "erp-port" and record["host"] == "db1"
        assert record["requests"][:2] == ["Start the ERP service.", "Check its log."]
        # serve restarts in the middle of the breach: no second record, the notes go on
        serve.stop()
        notes_before = len(records(run_cli, config)[0]["notes"])
        serve = Serve(config, tmp_path / "serve.log")
        wait_for("two more notes after the restart",
                 lambda: len(records(run_cli, config)[0]["notes"]) >= notes_before + 2, serve=serve)
        # the breach ends: the port answers
        listener = socket.create_server(("127.0.0.1", port))
        try:
            resolved = wait_for("resolution", lambda: [r for r in records(run_cli, config) if r["status"] == "resolved"],
                                serve=serve)[0]
        finally:
            listener.close()
        assert resolved["result"] == "Passed" and resolved["notes"][-1]["text"].startswith("recovered:")
        # ... and comes back within the reopen window: the same record re-opens
        reopened = wait_for("re-open", lambda: [r for r in records(run_cli, config) if r["status"] == "open"],
                            serve=serve)[0]
        assert reopened["id"] == record["id"]
        assert reopened["notes"][-1]["text"].startswith("re-opened: breached again")
        # the ticket system comes back: everything queued while it was down arrives
        http_sink.up()

        def caught_up():
            done = run_cli("records", "show", str(record["id"]), "--format", "json", "-c", config)
            hook = json.loads(done.stdout)["deliveries"]["hook"]
            return hook["pending"] == 0 and hook["delivered"] >= 5
        wait_for("delivery", caught_up, serve=serve)
    finally:
        serve.stop()

    final = records(run_cli, config)
    assert len(final) == 1
    notes = final[0]["notes"]
    assert sum("still in breach" in n["text"] for n in notes) >= 5  # one note per repeat (renote = interval)
    shown = json.loads(run_cli("records", "show", str(record["id"]), "--format", "json", "-c", config).stdout)
    delivered, pending = shown["deliveries"]["hook"]["delivered"], shown["deliveries"]["hook"]["pending"]
    assert delivered + pending == 1 + len(notes)  # every change is an event: opened + one per note
    events = [r.json() for r in http_sink.requests]
    keys = [r.headers["idempotency-key"] for r in http_sink.requests]
    assert len(set(keys)) == len(keys) == delivered  # exactly once per idempotency key, nothing lost
    assert [e["idempotency_key"] for e in events] == keys
    # in order: opened first, then one event per note in the order the notes were written
    assert events[0]["event"] == "opened" and events[0]["note"] is None
    assert [e["note"]["text"] for e in events[1:]] == [n["text"] for n in notes[:delivered - 1]]
    kinds = [e["event"] for e in events]
    assert kinds.index("resolved") < kinds.index("reopened")


def test_default_renote_adds_no_note_and_metrics_show_the_record(tmp_path, write_config, run_cli):
    listen = free_port()
    config = probe_config(write_config, tmp_path, free_port(), listen)
    serve = Serve(config, tmp_path / "serve.log")
    try:
        wait_for("a record", lambda: records(run_cli, config), serve=serve)

        def scrape() -> str:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"http://127.0.0.1:{listen}/metrics", timeout=5) as response:
                return response.read().decode()

        def rounds() -> float:
            line = next(x for x in scrape().splitlines() if x.startswith("l4agent_collections_total "))
            return float(line.split()[1])

        start = rounds()
        wait_for("four more rounds", lambda: rounds() >= start + 4, serve=serve)
        exposition = scrape()
    finally:
        serve.stop()
    (record,) = records(run_cli, config)
    assert record["status"] == "open" and record["notes"] == []  # the same breach, unchanged: no note
    assert 'l4agent_work_records_open{priority="P1"} 1.0' in exposition
    assert 'l4agent_work_records_sla_breached{priority="P1"} 0.0' in exposition
    assert "l4agent_work_records_store_ok 1.0" in exposition
    assert promtool_check_metrics(exposition) == ""
    shown = run_cli("records", "show", str(record["id"]), "-c", config)
    assert shown.returncode == 0
    for section in ("## Related", "## Problems and findings", "## Requests and recommendations", "## Result",
                    "## Evidence", "## Notes"):
        assert section in shown.stdout
    assert "1. ERP port not answering on erp-port: l4agent_probe_success is 0, critical below 1." in shown.stdout
