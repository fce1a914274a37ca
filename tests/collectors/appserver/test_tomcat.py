"""Tomcat's manager status XML: parsing a realistic document, fetching it with credentials."""

from __future__ import annotations

import pytest

from l4agent.collectors.appserver.status_client import StatusPageError
from l4agent.collectors.appserver.tomcat import fetch_status, parse_status, samples
from l4agent.core.config import AppServerConfig
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.appserver_fixtures import TOMCAT_PASSWORD, TOMCAT_USER, tomcat_xml


def test_parse_heap_thread_pools_requests_and_busy_workers():
    status = parse_status(tomcat_xml(workers=(("GET", "/index.cfm", 812), ("POST", "/report.cfm", 30_500))))
    assert (status.heap_free, status.heap_total, status.heap_max) == (390_123_520, 1_073_741_824, 2_147_483_648)
    assert status.heap_used == 1_073_741_824 - 390_123_520
    assert status.heap_used_ratio == pytest.approx((1_073_741_824 - 390_123_520) / 2_147_483_648)
    http, ajp = status.connectors
    assert (http.name, ajp.name) == ("http-nio-8080", "ajp-nio-127.0.0.1-8009")  # JMX quotes stripped
    assert (http.max_threads, http.current_threads, http.busy_threads) == (200, 25, 7)
    assert http.busy_ratio == pytest.approx(0.035)
    assert (http.request_count, http.error_count) == (18_422, 37)
    assert http.processing_seconds == pytest.approx(2913.441)
    assert http.max_request_seconds == pytest.approx(48.25)
    assert [(w.method, w.uri, w.seconds) for w in http.busy_workers] == [
        ("POST", "/report.cfm", 30.5), ("GET", "/index.cfm", 0.812)]  # stage S only, longest first
    assert ajp.busy_workers == ()


def test_samples_have_units_and_labels():
    found = {(s.name, s.labels.get("connector"), s.labels.get("kind")): s.value
             for s in samples("lucee", parse_status(tomcat_xml()))}
    assert found[("l4agent_appserver_threads_busy", "http-nio-8080", None)] == 7
    assert found[("l4agent_appserver_thread_pool_busy_ratio", "http-nio-8080", None)] == pytest.approx(0.035)
    assert found[("l4agent_appserver_request_errors_total", "http-nio-8080", None)] == 37
    assert found[("l4agent_appserver_processing_seconds_total", "http-nio-8080", None)] == pytest.approx(2913.441)
    assert found[("l4agent_appserver_jvm_heap_bytes", None, "max")] == 2_147_483_648
    assert found[("l4agent_appserver_jvm_heap_used_ratio", None, None)] == pytest.approx(0.3183, abs=1e-4)


@pytest.mark.parametrize(("document", "message"), [
    (b"<html>login</html>", "an HTML page, not the XML status"),
    (b"<manager><status/></manager>", "expected a <status> document, got <manager>"),
    (b"not xml at all", "not XML"),
    (b"<status><connector/></status>", "no <jvm><memory> element"),
    (b'<!DOCTYPE status [<!ENTITY a "aaaa">]><status/>', "DOCTYPE or ENTITY declaration refused"),
    (b"<status><jvm><memory free='x' total='1' max='1'/></jvm></status>", "<memory free='x'> is not a number"),
])
def test_bad_documents_are_refused_with_a_reason(document, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_status(document)


def app(url: str, **kwargs) -> AppServerConfig:
    return AppServerConfig(name="lucee", tomcat_status_url=url, timeout=5, **kwargs)


def test_fetch_with_password_from_env(app_http, monkeypatch):
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", TOMCAT_PASSWORD)
    status = fetch_status(app(app_http.url + "/manager/status?XML=true", status_user=TOMCAT_USER,
                              status_password_env="L4_TEST_TOMCAT_PW"))
    assert status.connectors[0].request_count == 18_422


def test_fetch_with_password_from_file(app_http, tmp_path):
    secret = tmp_path / "tomcat.pw"
    secret.write_text(TOMCAT_PASSWORD + "\n")
    status = fetch_status(app(app_http.url + "/manager/status?XML=true", status_user=TOMCAT_USER,
                              status_password_file=str(secret)))
    assert status.heap_max == 2_147_483_648


def test_wrong_password_says_what_to_check_and_never_prints_it(app_http, monkeypatch):
    monkeypatch.setenv("L4_TEST_TOMCAT_PW", "wrong-password-123")
    with pytest.raises(StatusPageError) as caught:
        fetch_status(app(app_http.url + "/manager/status?XML=true", status_user=TOMCAT_USER,
                         status_password_env="L4_TEST_TOMCAT_PW"))
    assert "HTTP 401" in str(caught.value)
    assert "manager-status role" in str(caught.value)
    assert "wrong-password-123" not in str(caught.value)


def test_missing_password_env_is_named(app_http, monkeypatch):
    monkeypatch.delenv("L4_TEST_TOMCAT_UNSET", raising=False)
    with pytest.raises(StatusPageError, match="environment variable L4_TEST_TOMCAT_UNSET is not set"):
        fetch_status(app(app_http.url + "/manager/status", status_user=TOMCAT_USER,
                         status_password_env="L4_TEST_TOMCAT_UNSET"))


def test_a_page_that_is_not_the_status_page(app_http):
    with pytest.raises(StatusPageError, match=r"tomcat status .*/ok: an HTML page, not the XML status \(the URL should end in /manager/status\?XML=true\)"):
        fetch_status(app(app_http.url + "/ok"))
