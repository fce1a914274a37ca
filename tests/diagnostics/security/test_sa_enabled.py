"""security.sa_enabled on rows shaped like sys.server_principals (the T-SQL itself is parsed in
test_security_tsql.py)."""

from __future__ import annotations

import pytest

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.sa_enabled")


def sa_row(name="sa", is_disabled=False, integrated_security_only=0):
    return {"name": name, "sid": b"\x01", "is_disabled": is_disabled,
            "integrated_security_only": integrated_security_only}


def findings(row):
    ctx, _ = mssql_context(CHECK, {"sa_login": [row]})
    return [(f.severity, f.object, f.summary, f.recommendation) for f in CHECK.run(ctx)]


def test_enabled_sa_in_mixed_mode_is_critical_with_the_disable_statement():
    assert findings(sa_row()) == [("critical", "sa", "the sa login is enabled",
                                   "disable it: `ALTER LOGIN [sa] DISABLE;` (administer through named logins "
                                   "that belong to sysadmin instead)")]


def test_enabled_sa_on_a_windows_only_server_is_a_warning():
    [(severity, _, summary, _)] = findings(sa_row(integrated_security_only=1))
    assert severity == "warning" and "Windows logins only" in summary


def test_renamed_but_enabled_sa_is_still_flagged_under_its_new_name():
    [(severity, obj, summary, fix)] = findings(sa_row(name="erp]admin"))
    assert (severity, obj) == ("warning", "erp]admin")
    assert "sid 0x01" in summary and "ALTER LOGIN [erp]]admin] DISABLE;" in fix  # quoted by QUOTENAME's rule


def test_disabled_sa_that_keeps_its_name_is_info():
    [(severity, _, summary, fix)] = findings(sa_row(is_disabled=True))
    assert severity == "info" and "well-known name" in summary
    assert "ALTER LOGIN [sa] WITH NAME = [sa_disabled];" in fix


def test_clean_twin_disabled_and_renamed_sa_is_not_flagged():
    assert findings(sa_row(name="sa_disabled", is_disabled=True)) == []


@pytest.mark.parametrize("is_disabled", [False, True])
def test_finding_evidence_is_plain_json(is_disabled):
    ctx, _ = mssql_context(CHECK, {"sa_login": [sa_row(is_disabled=is_disabled)]})
    [finding] = CHECK.run(ctx)
    assert finding.evidence["is_disabled"] is is_disabled and finding.evidence["sid"] == "0x01"
