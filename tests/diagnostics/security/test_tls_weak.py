"""security.tls_weak against real HTTPS servers with ThrowawayCA certificates: one that still
accepts TLS 1.0/1.1, one whose certificate ends in days, a self-signed one on production (and
the same on qa), and a healthy twin (CA-signed, a year left, TLS 1.2+)."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator

import pytest

from l4agent.diagnostics.security.tls_weak import probe
from tests.diagnostics.security_helpers import run_check
from tests.support.peers import IssuedCert, RecordingHttpServer, free_port


def https_server(cert: IssuedCert, legacy: bool = False) -> RecordingHttpServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    return RecordingHttpServer(ssl_context=context)


@pytest.fixture
def servers(throwaway_ca) -> Iterator[dict[str, RecordingHttpServer]]:
    made = {
        "healthy": https_server(throwaway_ca.issue(days_valid=365)),
        "legacy": https_server(throwaway_ca.issue(days_valid=365), legacy=True),
        "expiring": https_server(throwaway_ca.issue(days_valid=3)),
        "renew_soon": https_server(throwaway_ca.issue(days_valid=20)),
        "selfsigned": https_server(throwaway_ca.self_signed(days_valid=365)),
    }
    try:
        yield made
    finally:
        for server in made.values():
            server.close()


def config(servers, environment="production", **security) -> dict:
    return {"agent": {"environment": environment},
            "appservers": [{"name": name, "url": f"{server.url}/index.cfm", "timeout": "3s"}
                           for name, server in servers.items()],
            "diagnostics": {"security": security}}


def test_weak_endpoints_are_flagged_and_the_healthy_twin_is_not(servers):
    result = run_check("security.tls_weak", config(servers))
    found = {f.evidence["appserver"]: f for f in result.findings}
    assert set(found) == {"legacy", "expiring", "renew_soon", "selfsigned"}
    legacy = found["legacy"]
    assert (legacy.severity, legacy.object) == ("warning", servers["legacy"].url)
    assert legacy.summary == f"{servers['legacy'].url} (legacy) accepts TLSv1, TLSv1.1"
    assert legacy.evidence["legacy_protocols"] == {"TLSv1": "accepted", "TLSv1.1": "accepted"}
    assert legacy.evidence["negotiated"] == "TLSv1.3"
    assert 'sslEnabledProtocols="TLSv1.2,TLSv1.3"' in legacy.recommendation
    assert found["expiring"].severity == "critical"
    assert "its certificate expires in 3.0 days" in found["expiring"].summary
    assert found["expiring"].recommendation.startswith("renew the certificate (it ends ")
    assert found["renew_soon"].severity == "warning"
    assert "its certificate expires in 20 days" in found["renew_soon"].summary
    assert found["selfsigned"].severity == "warning"
    assert found["selfsigned"].summary.endswith("its certificate is self-signed on production")
    assert all(f.evidence["legacy_protocols"] == {"TLSv1": "refused", "TLSv1.1": "refused"}
               for name, f in found.items() if name != "legacy")
    # a handshake only: no HTTP request reached any server
    assert all(server.requests == [] for server in servers.values())


def test_self_signed_is_accepted_outside_the_listed_environments(servers):
    only = {"selfsigned": servers["selfsigned"], "healthy": servers["healthy"]}
    assert run_check("security.tls_weak", config(only, environment="qa")).findings == []


def test_expiry_thresholds_are_options(servers):
    only = {"renew_soon": servers["renew_soon"]}
    assert run_check("security.tls_weak", config(only, tls_expiry_warning_days=10)).findings == []
    [finding] = run_check("security.tls_weak", config(only, tls_expiry_critical_days=25)).findings
    assert finding.severity == "critical"


def test_unreachable_url_is_one_info_finding_and_http_urls_are_skipped():
    port = free_port()
    data = {"appservers": [{"name": "down", "url": f"https://127.0.0.1:{port}/", "timeout": "2s"},
                           {"name": "plain", "url": "http://127.0.0.1:1/"}]}
    [finding] = run_check("security.tls_weak", data).findings
    assert (finding.severity, finding.object) == ("info", f"https://127.0.0.1:{port}")
    assert finding.summary.startswith(f"TLS not reviewed: 127.0.0.1:{port} did not complete a handshake")


def test_probe_reports_what_each_legacy_handshake_did(servers):
    report = probe("127.0.0.1", servers["healthy"].port, 3.0)
    assert report.negotiated == "TLSv1.3" and report.certificate_der
    assert report.legacy == {"TLSv1": "refused", "TLSv1.1": "refused"}
