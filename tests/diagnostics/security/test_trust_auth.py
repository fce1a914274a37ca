"""security.trust_auth on a real PostgreSQL: trust lines planted in its pg_hba.conf beside
scram-sha-256 twins. The server keeps listening on 127.0.0.1 only."""

from __future__ import annotations

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.security_helpers import hba_lines, lab_postgres, password_env, run_check, target


@pytest.fixture
def lab(monkeypatch):
    server = lab_postgres()
    monkeypatch.setenv(*password_env(server))
    return server


def test_trust_for_remote_addresses_is_critical_loopback_is_info_and_scram_twins_are_clean(lab):
    lines = [
        "host    all  all      0.0.0.0/0      trust",          # line 4: planted, anyone
        "host    all  all      10.0.0.0/8     scram-sha-256",  # line 5: clean twin
        "hostssl erp  app,bi   192.168.1.0/24 trust",          # line 6: planted, a network
        "host    all  all      127.0.0.1/32   trust",          # line 7: loopback only
        "host    all  postgres ::1/128        trust",          # line 8: loopback only (IPv6)
        "local   all  all                     trust",          # line 9: unix socket, not judged
    ]
    with hba_lines(lab, lines):
        result = run_check("security.trust_auth", {"databases": [target(lab)]})
    hba = str(lab.data_dir / "pg_hba.conf")
    found = [(f.severity, f.object, f.summary) for f in result.findings]
    assert found == [
        ("critical", f"{hba}:4", "pg_hba.conf line 4 lets anyone who reaches the port log in without a "
                                 "password: `host all all 0.0.0.0/0 trust`"),
        ("critical", f"{hba}:6", "pg_hba.conf line 6 lets anyone who reaches the port log in without a "
                                 "password: `hostssl erp app,bi 192.168.1.0/24 trust`"),
        ("info", f"{hba}:7", "pg_hba.conf line 7 lets local OS users log in without a password: "
                             "`host all all 127.0.0.1/32 trust`"),
        ("info", f"{hba}:8", "pg_hba.conf line 8 lets local OS users log in without a password: "
                             "`host all postgres ::1/128 trust`"),
    ]
    first = result.findings[0]
    assert first.recommendation == (f"in {hba} line 4, change the method to scram-sha-256: "
                                    "`host all all 0.0.0.0/0 scram-sha-256`, then `SELECT pg_reload_conf();`")


def test_clean_server_has_no_trust_lines(lab):
    assert run_check("security.trust_auth", {"databases": [target(lab)]}).findings == []


def test_without_the_grant_the_error_names_it(pg_server, monkeypatch):
    """The shared server's monitor has no grant on pg_hba_file_rules (PostgreSQL's default)."""
    monkeypatch.setenv(*password_env(pg_server, "plain"))
    config = parse_config({"databases": [target(pg_server, "plain")]}, "test.toml")
    result = run_diagnostics(config, ("security.trust_auth",), host="testhost")
    [error] = result.errors
    assert error["check"] == "security.trust_auth" and error["target"] == "plain"
    assert "permission denied" in error["error"]
    assert "GRANT SELECT ON pg_catalog.pg_hba_file_rules TO <monitor>" in error["error"]
    assert result.findings == []
