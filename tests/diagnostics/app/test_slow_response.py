"""app.slow_response: a slow page is flagged by the p95 of recent probes, a fast twin is not."""

from __future__ import annotations

import tomllib
import uuid

from l4agent.agent.configuration import parse_config
from l4agent.collectors.appserver.app_history import AppHistories
from l4agent.collectors.appserver.collector import AppServerCollector
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403


def diagnose(text: str, check: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), [check], host="h")


def test_slow_page_is_flagged_and_fast_twin_is_not(real_tomcat):
    # a real Tomcat 10: its /slow JSP sleeps 1.2 s, its /ok JSP answers at once. The levels
    # leave room for a loaded test machine (2 cores shared with other suites).
    slow, fast = f"slow-{uuid.uuid4().hex[:6]}", f"fast-{uuid.uuid4().hex[:6]}"
    result = diagnose(f"""
        [[appservers]]
        name = "{slow}"
        url = "{real_tomcat.url}/slow?seconds=1.2"
        [[appservers]]
        name = "{fast}"
        url = "{real_tomcat.url}/ok"
        [diagnostics."app.slow_response"]
        warning_seconds = 1.0
        critical_seconds = 30.0
        samples = 3
        """, "app.slow_response")
    assert result.errors == []
    assert [(f.check, f.severity, f.target, f.object) for f in result.findings] == [
        ("app.slow_response", "warning", slow, f"{real_tomcat.url}/slow?seconds=1.2")]
    finding = result.findings[0]
    assert finding.summary.startswith("p95 response time ")
    assert finding.summary.endswith("over the last 3 probes (warning at 1s)")
    assert finding.evidence["probes"] == 3
    assert 1.2 <= finding.evidence["p95_seconds"] < 30.0
    assert "Thread.print" in finding.recommendation


def test_a_timeout_counts_as_slow_and_is_critical(hung_app):
    # fake: a server that accepts and never answers
    name = f"hung-{uuid.uuid4().hex[:6]}"
    result = diagnose(f"""
        [[appservers]]
        name = "{name}"
        url = "{hung_app.url}/"
        timeout = "600ms"
        [diagnostics."app.slow_response"]
        warning_seconds = 0.2
        critical_seconds = 0.5
        """, "app.slow_response")
    [finding] = result.findings
    assert (finding.severity, finding.evidence["timeouts"], finding.evidence["probes"]) == ("critical", 1, 1)


def test_the_daemon_s_recent_probes_are_judged_without_probing_again(app_http):
    # fake: the fake records every request it got, which proves that no new probe was sent
    name = f"hist-{uuid.uuid4().hex[:6]}"
    text = f"""
        [[appservers]]
        name = "{name}"
        url = "{app_http.url}/slow?seconds=0.25&app={name}"
        [diagnostics."app.slow_response"]
        warning_seconds = 0.2
        samples = 3
        """
    config = parse_config(tomllib.loads(text), "test.toml")
    histories = AppHistories()
    collector = AppServerCollector(app=config.appservers[0], history=histories.for_app(name))
    for _ in range(3):
        list(collector.collect())
    seen = len([r for r in app_http.server.requests if name in r.path])
    result = run_diagnostics(config, ["app.slow_response"], host="h", app_histories=histories)
    assert len([r for r in app_http.server.requests if name in r.path]) == seen == 3
    assert [f.target for f in result.findings] == [name]
