"""security.weak_login on rows shaped like sys.sql_logins (PWDCOMPARE results as the statement
returns them); the T-SQL is parsed in test_security_tsql.py."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.weak_login")


def login(name, *, is_disabled=False, is_policy_checked=True, is_expiration_checked=True,
          password_hash_hidden=False, blank_password=False, name_as_password=False):
    return {"name": name, "is_disabled": is_disabled, "is_policy_checked": is_policy_checked,
            "is_expiration_checked": is_expiration_checked, "password_hash_hidden": password_hash_hidden,
            "blank_password": None if password_hash_hidden else blank_password,
            "name_as_password": None if password_hash_hidden else name_as_password}


def run(*rows):
    ctx, _ = mssql_context(CHECK, {"sql_logins": list(rows)})
    return {f.object: f for f in CHECK.run(ctx)}


def test_blank_and_name_passwords_are_critical_and_clean_twin_is_silent():
    found = run(login("blank", blank_password=True), login("erpuser", name_as_password=True),
                login("strong"))
    assert set(found) == {"blank", "erpuser"}
    assert found["blank"].severity == "critical"
    assert found["blank"].summary == "SQL login blank has a blank password"
    assert found["blank"].recommendation == "`ALTER LOGIN [blank] WITH PASSWORD = N'<new strong password>';`"
    assert found["erpuser"].summary == "SQL login erpuser has its name as password"


def test_policy_and_expiration_off_are_one_finding_per_login():
    found = run(login("app", is_policy_checked=False, is_expiration_checked=False),
                login("svc", is_expiration_checked=False))
    assert found["app"].severity == "warning"
    assert found["app"].summary == "SQL login app has CHECK_POLICY off and has CHECK_EXPIRATION off"
    assert found["app"].recommendation == ("`ALTER LOGIN [app] WITH CHECK_POLICY = ON;`; "
                                           "`ALTER LOGIN [app] WITH CHECK_EXPIRATION = ON;` (needs CHECK_POLICY = ON)")
    assert found["svc"].severity == "info"


def test_everything_wrong_with_one_login_takes_the_worst_severity_and_one_password_fix():
    found = run(login("sa2", blank_password=True, name_as_password=False, is_policy_checked=False))
    assert found["sa2"].severity == "critical"
    assert found["sa2"].recommendation.count("WITH PASSWORD") == 1
    assert "CHECK_POLICY = ON" in found["sa2"].recommendation


def test_disabled_login_only_reports_a_guessable_password_as_info():
    found = run(login("old", is_disabled=True, blank_password=True, is_policy_checked=False),
                login("old2", is_disabled=True, is_policy_checked=False, is_expiration_checked=False))
    assert set(found) == {"old"}
    assert found["old"].severity == "info" and found["old"].summary.startswith("disabled SQL login old")


def test_hidden_hashes_are_reported_once_as_not_tested():
    found = run(login("a", password_hash_hidden=True), login("b", password_hash_hidden=True))
    [note] = found.values()
    assert note.object == "sys.sql_logins" and note.severity == "info"
    assert note.evidence["logins"] == ["a", "b"]
    assert "not visible" in note.summary


def test_no_password_value_reaches_a_finding():
    found = run(login("x", blank_password=True, is_policy_checked=False))
    text = repr([f.to_dict() for f in found.values()])
    assert "password_hash'" not in text  # only flags, never the hash column
