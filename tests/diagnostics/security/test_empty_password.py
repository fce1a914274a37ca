"""security.empty_password on a real MariaDB: accounts without a password (plain and as an
alternative method) planted beside accounts that must not be flagged: a password account,
unix_socket-only, locked, a role, and Debian's root@localhost/mysql@localhost ('invalid' native
string + unix_socket) and mariadb.sys (empty string, locked)."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.security.mysql_accounts import Account, _mariadb_account, _mysql_account
from tests.diagnostics.security_helpers import lab_mariadb, password_env, planted, run_check, target

HASH = "*0123456789ABCDEF0123456789ABCDEF01234567"
PLANTED = {
    "'nopass'@'%'": "CREATE USER 'nopass'@'%'",
    "'viaor'@'%'": "CREATE USER 'viaor'@'%' IDENTIFIED VIA unix_socket OR mysql_native_password USING ''",
    "'withpass'@'%'": f"CREATE USER 'withpass'@'%' IDENTIFIED BY PASSWORD '{HASH}'",
    "'sock'@'localhost'": "CREATE USER 'sock'@'localhost' IDENTIFIED VIA unix_socket",
    "'locked'@'%'": "CREATE USER 'locked'@'%' ACCOUNT LOCK",
    "''@'localhost'": "CREATE USER ''@'localhost'",
}


@pytest.fixture
def lab(monkeypatch):
    server = lab_mariadb()
    monkeypatch.setenv(*password_env(server))
    return server


def test_empty_passwords_are_critical_and_debian_and_clean_accounts_are_not_flagged(lab):
    plant = [*PLANTED.values(), "CREATE ROLE empty_role"]
    remove = [f"DROP USER IF EXISTS {account}" for account in PLANTED] + ["DROP ROLE IF EXISTS empty_role"]
    with planted(lab, plant, remove):
        result = run_check("security.empty_password", {"databases": [target(lab)]})
    found = [(f.severity, f.object, f.summary, f.recommendation) for f in result.findings]
    assert found == [
        ("critical", "'nopass'", "'nopass'@'%' logs in with an empty password (mysql_native_password)",
         "`ALTER USER 'nopass'@'%' IDENTIFIED BY '<new strong password>';` or, if it is unused, "
         "`DROP USER 'nopass'@'%';`"),
        ("critical", "'viaor'", "'viaor'@'%' logs in with an empty password (mysql_native_password)",
         "`ALTER USER 'viaor'@'%' IDENTIFIED BY '<new strong password>';` or, if it is unused, "
         "`DROP USER 'viaor'@'%';`"),
    ]


# (root@127.0.0.1 and root@localhost are the lab's admin accounts: not planted over)
ROOTS = ["'root'@'%'", "'root'@'10.0.0.%'", "'root'@'192.168.5.5'", "'root'@'::1'"]


def test_four_root_accounts_without_a_password_are_one_finding_for_root(lab):
    # the twin: a named account with a password on the same hosts
    plant = [f"CREATE USER {account}" for account in ROOTS] + [
        f"CREATE USER 'app'@'%' IDENTIFIED BY PASSWORD '{HASH}'"]
    remove = [f"DROP USER IF EXISTS {account}" for account in [*ROOTS, "'app'@'%'"]]
    with planted(lab, plant, remove):
        result = run_check("security.empty_password", {"databases": [target(lab)]})
        remote = run_check("security.root_remote", {"databases": [target(lab)]})
    [finding] = result.findings
    assert (finding.severity, finding.object) == ("critical", "'root'")
    assert finding.summary == ("'root' logs in with an empty password from 4 hosts: '%', '10.0.0.%', "
                               "'192.168.5.5', '::1' (mysql_native_password)")
    assert sorted(finding.evidence["accounts"]) == sorted(ROOTS)
    for account in ROOTS:
        assert f"`ALTER USER {account} IDENTIFIED BY '<new strong password>';`" in finding.recommendation
    # root from other hosts: one finding for root too (::1 is local), '%' makes it critical
    [root] = remote.findings
    assert (root.severity, root.object) == ("critical", "'root'")
    assert root.evidence["hosts"] == ["%", "10.0.0.%", "192.168.5.5"]


def test_clean_server_with_debian_accounts_is_not_flagged(lab):
    [(accounts,)] = lab.execute_admin("SELECT GROUP_CONCAT(CONCAT(User, '@', Host) ORDER BY User, Host) "
                                      "FROM mysql.global_priv")
    assert {"root@localhost", "mysql@localhost", "mariadb.sys@localhost"} <= set(accounts.split(","))
    assert run_check("security.empty_password", {"databases": [target(lab)]}).findings == []


def test_account_parsing_keeps_no_hash():
    row = {"user_name": "root", "host_name": "localhost",
           "priv": '{"plugin":"mysql_native_password","authentication_string":"*ABC","auth_or":[{},{"plugin":"unix_socket"}]}'}
    account = _mariadb_account(row)
    assert account == Account("root", "localhost", (("mysql_native_password", False), ("unix_socket", True)))
    assert "*ABC" not in repr(account) and account.empty_password_plugins == []


def test_mysql_user_rows_are_read_the_same_way():
    """MySQL 5.7/8.0 keep accounts in mysql.user; the statement computes the emptiness itself."""
    account = _mysql_account({"user_name": "app", "host_name": "%", "plugin": "caching_sha2_password",
                              "empty_password": 1, "account_locked": "N"})
    assert account.empty_password_plugins == ["caching_sha2_password"] and not account.locked
    locked = _mysql_account({"user_name": "x", "host_name": "%", "plugin": "", "empty_password": 1,
                             "account_locked": "Y"})
    assert locked.locked and locked.empty_password_plugins == ["mysql_native_password"]
