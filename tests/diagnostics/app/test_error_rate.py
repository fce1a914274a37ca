"""app.error_rate: failing probes and a container answering many errors are flagged; clean twins are not."""

from __future__ import annotations

import itertools
import json
import tomllib
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.collectors.appserver.app_history import AppHistories
from l4agent.diagnostics.app import readings as sources
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import tomcat_xml


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch):
    """Status reads 50ms apart instead of 500ms: the fixture's figures do not move on their own."""
    monkeypatch.setattr(sources, "READ_SPACING", 0.05)


def diagnose(text: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), ["app.error_rate"], host="h")


def uid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def test_failing_probes_are_critical_and_a_healthy_twin_is_clean(app_http):
    failing, healthy = uid("failing"), uid("healthy")
    result = diagnose(f"""
        [[appservers]]
        name = "{failing}"
        url = "{app_http.url}/fail"
        [[appservers]]
        name = "{healthy}"
        url = "{app_http.url}/ok"
        """)
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target) == ("app.error_rate", "critical", failing)
    assert finding.summary == "5 of the last 5 probes failed (100%); last: HTTP 500, expected 200"
    assert finding.evidence["reasons"] == {"status": 5}


def test_container_error_count_since_start_and_a_clean_twin(app_http):
    path = f"/errors-{uuid.uuid4().hex[:6]}"
    app_http.routes[path] = (200, tomcat_xml(requests=1000, errors=300))
    erring, clean = uid("erring"), uid("clean")
    result = diagnose(f"""
        [[appservers]]
        name = "{erring}"
        tomcat_status_url = "{app_http.url}{path}"
        [[appservers]]
        name = "{clean}"
        tomcat_status_url = "{app_http.url}/manager/status-open"
        """.replace("/manager/status-open", _open_status(app_http)))
    assert result.errors == []
    [finding] = result.findings
    assert (finding.severity, finding.target, finding.object) == ("critical", erring, "http-nio-8080")
    assert finding.summary == "300 of 1000 requests answered with an error (30.0%) since the app server started"


def test_recent_errors_are_judged_on_the_window_not_the_lifetime(app_http):
    # a month of clean traffic, then errors in every new request: the lifetime ratio hides it
    counts = itertools.count()
    path = f"/burst-{uuid.uuid4().hex[:6]}"

    def growing(request):
        n = next(counts)
        return 200, tomcat_xml(requests=1_000_000 + 100 * n, errors=10 + 60 * n)

    app_http.routes[path] = growing
    name = uid("burst")
    config = parse_config(tomllib.loads(f"""
        [[appservers]]
        name = "{name}"
        tomcat_status_url = "{app_http.url}{path}"
        """), "test.toml")
    histories = AppHistories()  # as the daemon's: one history across runs
    run_diagnostics(config, ["app.heap_pressure"], host="h", app_histories=histories)  # three reads into it
    result = run_diagnostics(config, ["app.error_rate"], host="h", app_histories=histories)
    [finding] = result.findings
    assert finding.severity == "critical"
    assert finding.evidence["requests"] == 200 and finding.evidence["errors"] == 120
    assert finding.evidence["window"].startswith("over the last ")


def test_diagnose_cli_reports_it(app_http, write_config, run_cli):
    name = uid("cli")
    path = write_config(f"""
        [[appservers]]
        name = "{name}"
        url = "{app_http.url}/fail"
        [diagnostics.app]
        samples = 2
        """)
    done = run_cli("diagnose", "-c", path, "--check", "app.error_rate", "--format", "json", "--fail-on", "critical")
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["check"], finding["target"], finding["summary"]) == (
        "app.error_rate", name, "2 of the last 2 probes failed (100%); last: HTTP 500, expected 200")


def _open_status(app_http) -> str:
    """A status route without auth serving the default (clean) document."""
    path = f"/clean-{uuid.uuid4().hex[:6]}"
    app_http.routes[path] = (200, tomcat_xml())
    return path
