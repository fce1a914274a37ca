"""app.tls_expiry: a certificate expiring in 10 days is flagged, a fresh one is not."""

from __future__ import annotations

import time
import tomllib
import uuid

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403
from tests.support.peers import RecordingHttpServer


def diagnose(text: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), ["app.tls_expiry"], host="h")


def app_toml(name: str, url: str, ca: str) -> str:
    return f"""
        [[appservers]]
        name = "{name}"
        url = "{url}"
        ca_file = "{ca}"
        """


@pytest.fixture(scope="module")
def fresh_site(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1", days_valid=400)
    with RecordingHttpServer(lambda req: (200, "ok"), ssl_context=cert.server_context()) as server:
        yield server


def test_ten_days_left_is_a_warning_and_a_fresh_twin_is_clean(app_https, fresh_site):
    # fake: certificates with chosen lifetimes from the throwaway CA
    expiring, fresh = f"exp-{uuid.uuid4().hex[:6]}", f"fresh-{uuid.uuid4().hex[:6]}"
    result = diagnose(app_toml(expiring, app_https.url + "/ok", app_https.ca.ca_cert)
                      + app_toml(fresh, fresh_site.url + "/", app_https.ca.ca_cert))
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target) == ("app.tls_expiry", "warning", expiring)
    truth_days = (app_https.cert.not_valid_after.timestamp() - time.time()) / 86400
    assert finding.evidence["days_left"] == pytest.approx(truth_days, abs=0.01)
    assert finding.summary.startswith("TLS certificate expires in 10.0 days (20")
    assert finding.evidence["subject"] == "CN=127.0.0.1"
    assert "intermediate chain" in finding.recommendation


def test_critical_level_and_an_expired_certificate(throwaway_ca):
    cert = throwaway_ca.issue("127.0.0.1", days_valid=-3)
    name = f"expired-{uuid.uuid4().hex[:6]}"
    with RecordingHttpServer(lambda req: (200, "ok"), ssl_context=cert.server_context()) as server:
        result = diagnose(app_toml(name, server.url + "/", throwaway_ca.ca_cert))
    [finding] = result.findings
    assert finding.severity == "critical"
    assert finding.summary.startswith("TLS certificate expired 3.0 days ago")


def test_plain_http_has_no_certificate_to_judge(app_http):
    # fake: any plain-HTTP site will do; no Tomcat state involved
    assert diagnose(app_toml(f"plain-{uuid.uuid4().hex[:6]}", app_http.url + "/ok", "/nonexistent")).findings == []
