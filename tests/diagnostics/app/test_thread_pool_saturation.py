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
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", "not-the-password")
    name = f"denied-{uuid.uuid4().hex[:6]}"
    result = diagnose(tomcat_app(name, app_http.url + "/manager/status?XML=true"))
    assert result.findings == []
    [error] = result.errors
    assert error["check"] == "app.thread_pool_saturation"
    assert f"{name}: tomcat status" in error["error"] and "HTTP 401" in error["error"]
    assert "not-the-password" not in error["error"]
