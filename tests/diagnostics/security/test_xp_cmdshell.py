"""security.xp_cmdshell on rows shaped like sys.configurations (value/value_in_use cast to int)."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.xp_cmdshell")

SECURE = {"xp_cmdshell": (0, 0), "Ole Automation Procedures": (0, 0), "clr enabled": (0, 0),
          "clr strict security": (1, 1), "Ad Hoc Distributed Queries": (0, 0),
          "cross db ownership chaining": (0, 0), "remote admin connections": (0, 0),
          "scan for startup procs": (0, 0)}


def configurations(**changes):
    values = dict(SECURE)
    values.update({name.replace("_", " ") if name != "xp_cmdshell" else name: v for name, v in changes.items()})
    return [{"name": name, "value": value, "value_in_use": in_use} for name, (value, in_use) in values.items()]


def run(rows, options=None):
    ctx, _ = mssql_context(CHECK, {"surface_options": rows}, options)
    return {f.object: f for f in CHECK.run(ctx)}


def test_secure_configuration_is_clean_even_with_clr_under_strict_security():
    assert run(configurations()) == {}
    assert run(configurations(clr_enabled=(1, 1))) == {}


def test_xp_cmdshell_on_is_critical_with_the_exact_sp_configure_fix():
    [finding] = run(configurations(xp_cmdshell=(1, 1))).values()
    assert (finding.severity, finding.object) == ("critical", "xp_cmdshell")
    assert finding.recommendation.startswith("`EXEC sp_configure 'show advanced options', 1; RECONFIGURE; "
                                             "EXEC sp_configure 'xp_cmdshell', 0; RECONFIGURE;`")
    assert finding.evidence == {"value": 1, "value_in_use": 1}


def test_pending_reconfigure_counts_as_on():
    [finding] = run(configurations(xp_cmdshell=(1, 0))).values()
    assert "RECONFIGURE pending" in finding.summary


def test_other_surface_options_and_their_severities():
    rows = configurations(**{"Ole_Automation_Procedures": (1, 1), "Ad_Hoc_Distributed_Queries": (1, 1),
                             "remote_admin_connections": (1, 1), "clr_enabled": (1, 1),
                             "clr_strict_security": (0, 0)})
    found = run(rows)
    assert {name: f.severity for name, f in found.items()} == {
        "Ole Automation Procedures": "warning", "Ad Hoc Distributed Queries": "warning",
        "remote admin connections": "info", "clr enabled": "warning"}
    assert "EXEC sp_configure 'clr strict security', 1; RECONFIGURE;" in found["clr enabled"].recommendation
    # not an advanced option: no detour through 'show advanced options'
    assert found["remote admin connections"].recommendation.startswith(
        "`EXEC sp_configure 'remote admin connections', 0;")


def test_clr_before_sql_server_2017_has_no_strict_security_row():
    rows = [r for r in configurations(clr_enabled=(1, 1)) if r["name"] != "clr strict security"]
    [finding] = run(rows).values()
    assert "EXEC sp_configure 'clr enabled', 0; RECONFIGURE;" in finding.recommendation


def test_allowed_surface_options_are_accepted():
    rows = configurations(xp_cmdshell=(1, 1), Ole_Automation_Procedures=(1, 1))
    assert set(run(rows, {"allowed_surface_options": ["ole automation procedures"]})) == {"xp_cmdshell"}
