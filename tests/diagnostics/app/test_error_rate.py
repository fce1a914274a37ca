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
    # fake: probe failures of the agent's own probes (plain HTTP, not Tomcat's counters)
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
    # fake: 300 errors in 1,000 requests since start, asserted verbatim (a real Tomcat's lifetime counters carry every earlier test's traffic)
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
    # fake: a million clean requests before the burst, grown by scripted steps per read
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
    # fake: probe failures through the CLI; exact summary asserted
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


# -- against a real Tomcat 10 (tests/support/tomcat_fixtures.py) --------------------------------
# The fake above stays for counters a real Tomcat cannot be put in on demand: a million requests
# with an exact error share (the since-start view), and a counter that grows by scripted steps
# between reads; probe failures of the agent's own probes are real HTTP either way.

def _window(server, name: str, requests: list[str]):
    """Read the status, send ``requests`` (paths) to the app connector, read again; then judge."""
    from l4agent.collectors.appserver.tomcat import fetch_status
    from tests.collectors.appserver.test_tomcat_real import connector, get, quiet, wait_for
    from tests.support.tomcat_fixtures import tomcat_app_config, tomcat_app_toml

    app = tomcat_app_config(server, name)
    histories = AppHistories()
    history = histories.for_app(name)
    quiet(server, app)
    first = fetch_status(app)
    history.record_status("tomcat", first)
    before = connector(first, server.app_connector_name).request_count
    codes = [get(server.url + path) for path in requests]
    # requestCount moves when a request has ended: wait until the last one is counted
    second = wait_for(lambda: (s := fetch_status(app)) and
                      connector(s, server.app_connector_name).request_count - before >= len(requests) and s)
    history.record_status("tomcat", second)
    config = parse_config(tomllib.loads(tomcat_app_toml(server, name, with_process=False)), "test.toml")
    return codes, run_diagnostics(config, ["app.error_rate"], host="h", app_histories=histories)


def test_real_tomcat_errors_in_the_window_are_critical(real_tomcat):
    name = uid("t10")
    codes, result = _window(real_tomcat, name, ["/fail"] * 10 + ["/ok"] * 18 + ["/no-such-page"] * 2)
    assert codes.count(500) == 10 and codes.count(404) == 2 and codes.count(200) == 18
    assert result.errors == []
    [finding] = [f for f in result.findings if f.object == real_tomcat.app_connector_name]
    assert (finding.severity, finding.target) == ("critical", name)
    assert (finding.evidence["requests"], finding.evidence["errors"]) == (30, 12)
    assert finding.summary.startswith("12 of 30 requests answered with an error (40.0%) over the last ")


def test_real_tomcat_clean_window_is_not_flagged(real_tomcat):
    """The clean twin: the same server, earlier errors in its lifetime, 30 good requests now."""
    name = uid("t10")
    codes, result = _window(real_tomcat, name, ["/ok"] * 30)
    assert codes == [200] * 30
    assert result.errors == []
    assert [f for f in result.findings if f.object == real_tomcat.app_connector_name] == []


def test_tomcat_down_is_judged_by_the_probes_and_the_status_page_is_not_examined(run_cli, write_config):
    """Issue 15: with tomcat_status_url set and Tomcat down (nothing listens), the failing app is
    as critical as without the URL; the unread status page is a coverage item of that app
    server (exit 3 without --fail-on), not an error that swallows the probe finding."""
    from tests.conftest import free_port

    down_port = free_port()  # bound and released: connections are refused
    down = uid("down")
    text = f"""
        [[appservers]]
        name = "{down}"
        url = "http://127.0.0.1:{down_port}/index.cfm"
        tomcat_status_url = "http://127.0.0.1:{down_port}/manager/status?XML=true"
        """
    result = diagnose(text)
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target) == ("app.error_rate", "critical", down)
    assert "probes failed" in finding.summary
    [coverage] = [c.to_dict() for c in result.coverage if c.target == down]
    [item] = coverage["not_examined"]
    assert item["what"] == "app.error_rate (status page)" and "connect" in item["why"].lower()
    # the same from the command line: the finding printed; --fail-on critical reached (1), or the
    # unread page makes it incomplete (3): either way not "0 findings, exit 0"
    done = run_cli("diagnose", "-c", write_config(text), "--check", "app.error_rate", "--format", "json",
                   "--fail-on", "critical")
    assert done.returncode in (1, 3), done.stderr
    assert [f["severity"] for f in json.loads(done.stdout)["findings"]] == ["critical"]


def test_an_unreadable_status_page_beside_a_readable_one_is_named_in_coverage(app_http):
    """Thread pool and heap cannot be judged without the page: the down app server is a
    not_examined item of each, the healthy twin is judged and clean."""
    from tests.conftest import free_port

    down_port = free_port()
    down, healthy = uid("down"), uid("healthy")
    result = run_diagnostics(parse_config(tomllib.loads(f"""
        [[appservers]]
        name = "{down}"
        tomcat_status_url = "http://127.0.0.1:{down_port}/manager/status?XML=true"
        [[appservers]]
        name = "{healthy}"
        url = "{app_http.url}/ok"
        tomcat_status_url = "{app_http.url}/manager/status-open"
        """.replace("/manager/status-open", _open_status(app_http))), "test.toml"),
        ["app.error_rate", "app.thread_pool_saturation", "app.heap_pressure"], host="h")
    assert result.errors == [] and result.findings == []
    coverage = {c.target: c.to_dict() for c in result.coverage}
    assert {item["what"] for item in coverage[down]["not_examined"]} == {
        "app.error_rate (status page)", "app.thread_pool_saturation (status page)", "app.heap_pressure (status page)"}
    assert coverage[healthy]["not_examined"] == []
    assert coverage[healthy]["examined"]["probes"] >= 1
    assert result.incomplete  # something was not examined: the run says so (exit 3)
