"""app.thread_pool_saturation: a connector with (nearly) every thread busy is flagged; its twin is not."""

from __future__ import annotations

import tomllib
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.app import readings as sources
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import TOMCAT_PASSWORD, TOMCAT_USER, AppSite, tomcat_xml


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch):
    """Status reads 50ms apart instead of 500ms: the fixture's figures do not move on their own."""
    monkeypatch.setattr(sources, "READ_SPACING", 0.05)


def diagnose(text: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), ["app.thread_pool_saturation"], host="h")


def tomcat_app(name: str, url: str) -> str:
    return f"""
        [[appservers]]
        name = "{name}"
        tomcat_status_url = "{url}"
        status_user = "{TOMCAT_USER}"
        status_password_env = "L4_TEST_TOMCAT_PW"
        process = "no-such-process-l4"
        """


def test_saturated_connector_is_critical_with_the_busiest_requests(app_http, monkeypatch):
    # fake: 196 of 200 threads busy and workers from other hosts (10.0.4.x, /index.cfm, a 61 s POST) asserted verbatim
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", TOMCAT_PASSWORD)
    busy_path = f"/busy-{uuid.uuid4().hex[:6]}/manager/status"
    app_http.routes[busy_path] = AppSite.tomcat_auth(tomcat_xml(
        busy=196, current=200, workers=(("GET", "/index.cfm", 2_400), ("POST", "/V16/report/stock.cfm", 61_000))))
    saturated, calm = f"sat-{uuid.uuid4().hex[:6]}", f"calm-{uuid.uuid4().hex[:6]}"
    result = diagnose(tomcat_app(saturated, app_http.url + busy_path + "?XML=true")
                      + tomcat_app(calm, app_http.url + "/manager/status?XML=true"))
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target, finding.object) == (
        "app.thread_pool_saturation", "critical", saturated, "http-nio-8080")
    assert finding.summary == "196 of 200 request threads busy (median 98% over 3 reads)"
    assert finding.evidence["busiest_workers"][0] == {
        "method": "POST", "uri": "/V16/report/stock.cfm", "seconds": 61.0, "remote": "10.0.4.21"}
    assert "maxThreads" in finding.recommendation


def test_json_status_fields_feed_it_too(app_http):
    # fake: Lucee's JSON status page
    path = f"/lucee-{uuid.uuid4().hex[:6]}.json"
    app_http.routes[path] = (200, {"threads": {"busy": 45, "max": 50}})
    name = f"json-{uuid.uuid4().hex[:6]}"
    result = diagnose(f"""
        [[appservers]]
        name = "{name}"
        json_status_url = "{app_http.url}{path}"
        json_status_fields = {{ threads_busy = "threads.busy", threads_max = "threads.max" }}
        """)
    [finding] = result.findings
    assert (finding.severity, finding.target, finding.object) == ("warning", name, "json")


def test_an_unreadable_status_page_is_a_check_error_naming_it(app_http, monkeypatch):
    # fake: a wrong password served by the fake (the real Tomcat's 401/403 are in test_tomcat_real.py)
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", "not-the-password")
    name = f"denied-{uuid.uuid4().hex[:6]}"
    result = diagnose(tomcat_app(name, app_http.url + "/manager/status?XML=true"))
    assert result.findings == []
    [error] = result.errors
    assert error["check"] == "app.thread_pool_saturation"
    assert f"{name}: tomcat status" in error["error"] and "HTTP 401" in error["error"]
    assert "not-the-password" not in error["error"]


# -- against a real Tomcat 10 (tests/support/tomcat_fixtures.py) --------------------------------
# The tests above keep the fake for what a real Tomcat cannot be put in on demand: a 200-thread
# pool with exactly 196 busy, workers from other hosts (10.0.4.x) on /index.cfm and a 61 s POST
# (figures asserted verbatim), a JSON status page (Lucee), and its wrong password served by a
# fake that never locks out.

def _load(server, ms: int):
    """``server.max_threads`` concurrent /slow requests: every app thread busy for ``ms``."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.collectors.appserver.test_tomcat_real import get

    pool = ThreadPoolExecutor(server.max_threads)
    replies = [pool.submit(get, f"{server.url}/slow?ms={ms}") for _ in range(server.max_threads)]
    return pool, replies


def test_real_tomcat_saturated_pool_is_critical_and_its_admin_pool_is_not(real_tomcat, monkeypatch):
    from l4agent.collectors.appserver.tomcat import fetch_status
    from tests.collectors.appserver.test_tomcat_real import connector, wait_for
    from tests.support.tomcat_fixtures import tomcat_app_config, tomcat_app_toml

    monkeypatch.setattr(sources, "READ_SPACING", 0.2)
    name = f"t10-{uuid.uuid4().hex[:6]}"
    probe = tomcat_app_config(real_tomcat, name)
    pool, replies = _load(real_tomcat, 4000)
    try:
        assert wait_for(lambda: len(connector(fetch_status(probe), real_tomcat.app_connector_name).busy_workers) == 8)
        result = diagnose(tomcat_app_toml(real_tomcat, name, with_process=False))
    finally:
        assert [r.result() for r in replies] == [200] * 8
        pool.shutdown()
    assert result.errors == []
    [finding] = result.findings  # the admin connector (the agent's read: 1 of 4 busy) is not flagged
    assert (finding.severity, finding.target, finding.object) == (
        "critical", name, real_tomcat.app_connector_name)
    assert finding.summary == "8 of 8 request threads busy (median 100% over 3 reads)"
    assert finding.evidence["own_status_reads"] == 0
    assert [w["uri"] for w in finding.evidence["busiest_workers"]] == ["/slow"] * 8


def test_real_tomcat_idle_pool_is_clean_even_on_a_low_level(real_tomcat):
    """The clean twin. The status read itself is a busy thread of the 4-thread admin pool (25%):
    with the warning level at 20% the check must still not flag the agent's own read."""
    from tests.support.tomcat_fixtures import tomcat_app_toml

    name = f"t10-{uuid.uuid4().hex[:6]}"
    result = diagnose(tomcat_app_toml(real_tomcat, name, with_process=False) + """
        [diagnostics."app.thread_pool_saturation"]
        warning_ratio = 0.2
        critical_ratio = 0.5
        """)
    assert result.errors == []
    assert result.findings == []
