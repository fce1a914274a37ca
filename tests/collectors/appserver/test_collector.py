"""The app-server collector end to end: config -> collectors -> runner -> snapshot, /metrics, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import time
import tomllib
import urllib.request
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.collectors.appserver.app_history import AppHistories
from l4agent.collectors.appserver.collector import AppServerCollector
from l4agent.collectors.probes import ProbeCollector
from l4agent.collectors.registry import build_collectors
from l4agent.collectors.runner import CollectionRunner
from l4agent.core.config import AppServerConfig
from l4agent.exporters.prometheus import render
from tests.conftest import free_port
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import TOMCAT_PASSWORD, TOMCAT_USER
from tests.support.promtools import promtool_check_metrics


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sleeper():
    """A real process to group: ``sleep`` with a seconds value unique to the test."""
    seconds = f"{300 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6:06d}"
    proc = subprocess.Popen(["sleep", seconds])
    yield seconds
    proc.kill()
    proc.wait()


def config_of(text: str):
    return parse_config(tomllib.loads(text), "test.toml")


def test_one_round_reads_probe_tls_process_tomcat_and_json(app_https, sleeper, monkeypatch):
    # fake: HTTPS with a 10-day certificate from the throwaway CA and a Lucee JSON page in one app server (the real-Tomcat round is in test_tomcat_real.py)
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", TOMCAT_PASSWORD)
    name = unique("lucee")
    config = config_of(f"""
        [[appservers]]
        name = "{name}"
        url = "{app_https.url}/ok"
        body_regex = "Workcube"
        ca_file = "{app_https.ca.ca_cert}"
        process = "sleep"
        process_cmdline = "{sleeper}"
        tomcat_status_url = "{app_https.url}/manager/status?XML=true"
        status_user = "{TOMCAT_USER}"
        status_password_env = "L4_TEST_TOMCAT_PW"
        json_status_url = "{app_https.url}/status.json"
        json_status_fields = {{ sessions = "sessions.active", heap_used_bytes = "memory.heap.used" }}
        """)
    histories = AppHistories()
    collectors = build_collectors(config, {"appserver"}, app_histories=histories)
    assert [(c.name, c.target, c.timeout) for c in collectors] == [("appserver", name, 12.0)]
    snapshot = CollectionRunner(collectors, "h").run_once()

    assert snapshot.errors == []
    assert snapshot.value("l4agent_appserver_up", appserver=name) == 1
    assert snapshot.value("l4agent_appserver_http_status", appserver=name) == 200
    assert 0 < snapshot.value("l4agent_appserver_time_to_first_byte_seconds", appserver=name) \
        <= snapshot.value("l4agent_appserver_response_seconds", appserver=name) < 2
    truth = app_https.cert.not_valid_after.timestamp() - time.time()
    assert abs(snapshot.value("l4agent_appserver_tls_expiry_seconds", appserver=name) - truth) < 1.0
    info = snapshot.find("l4agent_appserver_tls_info", appserver=name)
    assert [s.labels for s in info] == [{"appserver": name, "issuer": "CN=l4agent test CA", "subject": "CN=127.0.0.1"}]
    assert snapshot.value("l4agent_appserver_tls_verified", appserver=name) == 1
    assert snapshot.value("l4agent_process_members", group=name) == 1
    assert snapshot.value("l4agent_process_resident_bytes", group=name) > 0
    assert snapshot.value("l4agent_appserver_threads_busy", appserver=name, connector="http-nio-8080") == 7
    assert snapshot.value("l4agent_appserver_jvm_heap_bytes", appserver=name, kind="max") == 2_147_483_648
    assert snapshot.value("l4agent_appserver_json_sessions", appserver=name) == 137
    assert snapshot.value("l4agent_collector_success", collector="appserver", target=name) == 1

    assert promtool_check_metrics(render(snapshot.samples)) == ""
    history = histories.for_app(name)
    assert len(history.probes(60)) == 1
    assert [r.kind for r in history.status_reads("tomcat", 60)] == ["tomcat"]


def test_a_failing_probe_is_data_and_an_error_entry_with_the_reason(real_tomcat):
    # a real Tomcat 10: its /fail JSP answers 500
    name = unique("cf")
    collector = AppServerCollector(app=AppServerConfig(name=name, url=real_tomcat.url + "/fail", timeout=5))
    runner = CollectionRunner([collector], "h")
    runner.run_once()
    snapshot = runner.run_once()
    assert snapshot.value("l4agent_appserver_up", appserver=name) == 0
    assert snapshot.value("l4agent_appserver_http_status", appserver=name) == 500
    assert snapshot.value("l4agent_appserver_probes_total", appserver=name) == 2
    assert snapshot.value("l4agent_appserver_probe_failures_total", appserver=name, reason="status") == 2
    assert snapshot.errors == [{"collector": "appserver", "target": name,
                                "error": f"probe of {real_tomcat.url}/fail: HTTP 500, expected 200"}]


def test_a_hung_app_server_costs_only_its_own_timeout(hung_app, app_http):
    # fake: a server that accepts and never answers (a real Tomcat always answers or refuses)
    hung = AppServerCollector(app=AppServerConfig(name=unique("hung"), url=hung_app.url + "/", timeout=1.0,
                                                  tomcat_status_url=hung_app.url + "/manager/status?XML=true"),
                              timeout=3.0)
    healthy = AppServerCollector(app=AppServerConfig(name=unique("ok"), url=app_http.url + "/ok", timeout=5))
    probe = ProbeCollector(target="port", tcp_host="127.0.0.1", tcp_port=app_http.server.port, timeout=3)
    started = time.monotonic()
    snapshot = CollectionRunner([hung, healthy, probe], "h").run_once()
    elapsed = time.monotonic() - started

    assert elapsed < 1.6  # the probe and the status page waited side by side, 1s each
    assert snapshot.value("l4agent_appserver_up", appserver=hung.target) == 0
    assert snapshot.value("l4agent_appserver_up", appserver=healthy.target) == 1
    assert snapshot.value("l4agent_probe_success", probe="port") == 1
    hung_errors = sorted(e["error"] for e in snapshot.errors if e["target"] == hung.target)
    assert hung_errors == [f"probe of {hung_app.url}/: timed out after 1s",
                           f"tomcat status {hung_app.url}/manager/status?XML=true: timed out after 1s"]


def test_the_metrics_scrape_never_waits_for_a_hung_app_server(hung_app, tmp_path):
    # fake: a server that accepts and never answers
    from l4agent.agent.daemon import Daemon

    port = free_port()
    config = config_of(f"""
        [agent]
        listen = "127.0.0.1:{port}"
        interval = "1s"
        state_dir = "{tmp_path}"
        [[appservers]]
        name = "{unique('hung')}"
        url = "{hung_app.url}/"
        timeout = "1500ms"
        """)
    daemon = Daemon(config)
    daemon.start()
    try:
        deadline = time.monotonic() + 10
        while daemon.snapshot is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon.snapshot is not None
        scrape_times = []
        for _ in range(5):  # while the next rounds hang on the app server
            started = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                body = response.read().decode()
            scrape_times.append(time.monotonic() - started)
            time.sleep(0.2)
        assert max(scrape_times) < 0.5, scrape_times
        assert "l4agent_appserver_up{" in body
    finally:
        daemon.stop()


def test_collect_shows_the_app_tier_next_to_the_os(app_http, write_config, run_cli):
    # fake: Lucee's JSON status page next to the probe (no Lucee here)
    name = unique("lucee")
    path = write_config(f"""
        [[appservers]]
        name = "{name}"
        url = "{app_http.url}/ok"
        json_status_url = "{app_http.url}/status.json"
        json_status_fields = {{ sessions = "sessions.active" }}
        """)
    table = run_cli("collect", "-c", path)
    assert table.returncode == 0, table.stderr
    assert "== os ==" in table.stdout
    app_section = table.stdout.split("== app server ==")[1].split("==")[0]
    assert re.search(rf"^appserver_up +1  appserver={name}$", app_section, re.M), app_section
    assert "appserver_json_sessions" in app_section

    as_json = json.loads(run_cli("collect", "-c", path, "--format", "json").stdout)
    names = {s["name"] for s in as_json["samples"]}
    assert {"l4agent_cpu_seconds_total", "l4agent_appserver_up", "l4agent_appserver_response_seconds"} <= names
