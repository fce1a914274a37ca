"""app.tls_chain: a certificate the system store cannot verify is flagged; with ca_file it verifies."""

from __future__ import annotations

import tomllib
import uuid

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.support.appserver_fixtures import *  # noqa: F403


def diagnose(text: str):
    return run_diagnostics(parse_config(tomllib.loads(text), "test.toml"), ["app.tls_chain"], host="h")


def test_system_store_fails_with_a_clear_finding_and_the_ca_file_twin_passes(app_https):
    # fake: TLS with a certificate from the throwaway CA (the real Tomcat here has no TLS connector)
    untrusted, trusted, unchecked = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("untrusted", "trusted", "unchecked"))
    result = diagnose(f"""
        [[appservers]]
        name = "{untrusted}"
        url = "{app_https.url}/ok"
        [[appservers]]
        name = "{trusted}"
        url = "{app_https.url}/ok"
        ca_file = "{app_https.ca.ca_cert}"
        [[appservers]]
        name = "{unchecked}"
        url = "{app_https.url}/ok"
        verify_tls = false
        """)
    assert result.errors == []
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.target, finding.object) == (
        "app.tls_chain", "warning", untrusted, f"{app_https.url}/ok")
    assert finding.summary == ("TLS certificate does not verify against the system trust store: "
                               "unable to get local issuer certificate")
    assert finding.evidence["issuer"] == "CN=l4agent test CA"
    assert "ca_file" in finding.recommendation and "full chain" in finding.recommendation
