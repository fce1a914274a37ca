"""security.root_remote on a real MariaDB: root@'%' and root from a network planted beside the
local root accounts (root@localhost via unix_socket, root@127.0.0.1)."""

from __future__ import annotations

import pytest

from tests.diagnostics.security_helpers import lab_mariadb, password_env, planted, run_check, target

HASH = "*0123456789ABCDEF0123456789ABCDEF01234567"
ACCOUNTS = ["'root'@'%'", "'root'@'10.0.0.%'", "'root'@'::1'", "'root'@'192.168.5.5'"]


@pytest.fixture
def lab(monkeypatch):
    server = lab_mariadb()
    monkeypatch.setenv(*password_env(server))
    plant = [f"CREATE USER {account} IDENTIFIED BY PASSWORD '{HASH}'" for account in ACCOUNTS]
    with planted(server, plant, [f"DROP USER IF EXISTS {account}" for account in ACCOUNTS]):
        yield server


def test_root_from_any_host_is_critical_from_a_network_warning_local_ones_clean(lab):
    result = run_check("security.root_remote", {"databases": [target(lab)]})
    found = [(f.severity, f.object, f.summary) for f in result.findings]
    # one finding for root, every remote host in it: '%' makes it critical
    assert found == [
        ("critical", "'root'", "root accepts logins from 3 remote hosts: any host, 10.0.0.%, 192.168.5.5"),
    ]
    assert result.findings[0].evidence["hosts"] == ["%", "10.0.0.%", "192.168.5.5"]
    assert result.findings[0].recommendation.startswith(
        "`DROP USER 'root'@'%';` `DROP USER 'root'@'10.0.0.%';` `DROP USER 'root'@'192.168.5.5';`")


def test_allowed_root_hosts_are_accepted(lab):
    config = {"databases": [target(lab)],
              "diagnostics": {"security.root_remote": {"allowed_root_hosts": ["10.0.0.%", "192.168.5.5"]}}}
    [finding] = run_check("security.root_remote", config).findings
    assert (finding.object, finding.summary) == ("'root'", "root accepts logins from any host")


def test_root_from_a_network_only_is_a_warning(lab):
    config = {"databases": [target(lab)],
              "diagnostics": {"security.root_remote": {"allowed_root_hosts": ["%", "192.168.5.5"]}}}
    [finding] = run_check("security.root_remote", config).findings
    assert (finding.severity, finding.summary) == ("warning", "root accepts logins from 10.0.0.%")
