"""security.trustworthy_database on rows shaped like sys.databases (msdb is filtered in SQL)."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.trustworthy_database")


def database(name, owner="sa", owner_is_sysadmin=1):
    return {"name": name, "is_trustworthy_on": True, "owner_name": owner, "owner_is_sysadmin": owner_is_sysadmin}


def run(rows, options=None):
    ctx, _ = mssql_context(CHECK, {"trustworthy_databases": rows}, options)
    return [(f.severity, f.object, f.summary, f.recommendation) for f in CHECK.run(ctx)]


def test_sql_excludes_msdb_and_non_trustworthy_databases():
    sql = CHECK.queries["mssql"]["trustworthy_databases"]
    assert "d.is_trustworthy_on = 1 AND d.name <> N'msdb'" in sql


def test_trustworthy_database_owned_by_sysadmin_is_critical():
    assert run([database("workcube_cf")]) == [(
        "critical", "workcube_cf", "TRUSTWORTHY is on and the owner sa is sysadmin: any db_owner can become sysadmin",
        "`ALTER DATABASE [workcube_cf] SET TRUSTWORTHY OFF;` (sign the modules that need server-level access "
        "with a certificate instead)")]


def test_owner_without_sysadmin_or_unknown_is_a_warning():
    found = run([database("a", owner="app", owner_is_sysadmin=0), database("b", owner=None, owner_is_sysadmin=None)])
    assert [(s, o) for s, o, _, _ in found] == [("warning", "a"), ("warning", "b")]


def test_no_rows_no_findings_and_allowed_databases_are_accepted():
    assert run([]) == []
    assert run([database("ssisdb_like")], {"allowed_trustworthy": ["SSISDB_like"]}) == []
