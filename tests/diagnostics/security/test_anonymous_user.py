"""security.anonymous_user on a real MariaDB: anonymous accounts planted beside named accounts
and Debian's own (root@localhost via unix_socket, mariadb.sys)."""

from __future__ import annotations

import pytest

from l4agent.agent.configuration import parse_config
from l4agent.diagnostics.runner import run_diagnostics
from tests.diagnostics.security_helpers import lab_mariadb, password_env, planted, run_check, target


@pytest.fixture
def lab(monkeypatch):
    server = lab_mariadb()
    monkeypatch.setenv(*password_env(server))
    return server


def test_anonymous_accounts_are_flagged_and_named_ones_are_not(lab):
    plant = ["CREATE USER ''@'localhost'", "CREATE USER ''@'%'", "CREATE USER ''@'10.0.0.%' ACCOUNT LOCK",
             "CREATE USER 'app'@'%' IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'"]
    remove = ["DROP USER IF EXISTS ''@'localhost'", "DROP USER IF EXISTS ''@'%'",
              "DROP USER IF EXISTS ''@'10.0.0.%'", "DROP USER IF EXISTS 'app'@'%'"]
    with planted(lab, plant, remove):
        result = run_check("security.anonymous_user", {"databases": [target(lab)]})
    found = [(f.severity, f.object, f.recommendation) for f in result.findings]
    # one finding for the anonymous user, the worst account's severity, each account dropped
    assert found == [
        ("critical", "''", "`DROP USER ''@'%';` `DROP USER ''@'localhost';` `DROP USER ''@'10.0.0.%';`"),
    ]
    assert result.findings[0].summary == ("3 anonymous accounts ''@'%', ''@'localhost', ''@'10.0.0.%' (locked): "
                                          "anyone can log in without a user name")


def test_clean_server_has_no_anonymous_accounts(lab):
    assert run_check("security.anonymous_user", {"databases": [target(lab)]}).findings == []


def test_without_select_on_global_priv_the_error_names_the_grant(mariadb_server, monkeypatch):
    monkeypatch.setenv(*password_env(mariadb_server, "plain"))
    config = parse_config({"databases": [target(mariadb_server, "plain")]}, "test.toml")
    result = run_diagnostics(config, ("security.anonymous_user",), host="testhost")
    [error] = result.errors
    assert "permission denied" in error["error"]
    assert error["error"].endswith("the monitoring login needs: GRANT SELECT ON mysql.global_priv TO <monitor>;")
