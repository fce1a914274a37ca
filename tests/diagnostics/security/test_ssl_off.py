"""security.ssl_off on real servers: PostgreSQL with ssl off, then on (a ThrowawayCA certificate,
ALTER SYSTEM, reload); MariaDB without a certificate (the shared server) beside one with TLS
(the lab server)."""

from __future__ import annotations

import shutil

import pytest

from tests.diagnostics.security_helpers import (
    lab_mariadb,
    lab_postgres,
    password_env,
    pg_settings,
    run_check,
    target,
)


@pytest.fixture
def pg_lab(monkeypatch, throwaway_ca):
    server = lab_postgres()
    monkeypatch.setenv(*password_env(server))
    cert = throwaway_ca.issue("127.0.0.1")
    for source, name in ((cert.cert, "server.crt"), (cert.key, "server.key")):
        path = server.data_dir / name
        shutil.copyfile(source, path)
        path.chmod(0o600)
        server._chown(path)
    return server


def test_postgresql_ssl_off_is_a_warning_and_on_is_clean(pg_lab):
    config = {"databases": [target(pg_lab)]}
    [finding] = run_check("security.ssl_off", config).findings
    assert (finding.severity, finding.object, finding.summary) == (
        "warning", "ssl", "ssl is off: connections cannot be encrypted")
    assert "ssl = on" in finding.recommendation and "hostssl" in finding.recommendation
    with pg_settings(pg_lab, ssl="on"):
        assert run_check("security.ssl_off", config).findings == []


def test_mariadb_without_certificate_is_a_warning_with_tls_clean(mariadb_server, monkeypatch):
    lab = lab_mariadb()
    monkeypatch.setenv(*password_env(lab))
    monkeypatch.setenv(*password_env(mariadb_server, "plain"))
    result = run_check("security.ssl_off", {"databases": [target(mariadb_server, "plain"), target(lab)]})
    [finding] = result.findings
    assert (finding.target, finding.severity, finding.object) == ("plain", "warning", "have_ssl")
    assert finding.summary == "TLS is disabled: no certificate configured"
    assert finding.evidence == {"have_ssl": "DISABLED", "require_secure_transport": False}
    assert finding.recommendation.startswith("set `ssl_cert`, `ssl_key`")
