"""security.unencrypted_connections on rows shaped like sys.dm_exec_connections joined to
sys.dm_exec_sessions, grouped by login, client address and program."""

from __future__ import annotations

from l4agent.diagnostics.registry import by_id
from tests.diagnostics.security_helpers import mssql_context

CHECK = by_id("security.unencrypted_connections")


def group(login, address, program, connections):
    return {"login_name": login, "client_net_address": address, "program_name": program, "connections": connections}


def run(rows, options=None):
    ctx, _ = mssql_context(CHECK, {"unencrypted_connections": rows}, options)
    return {f.object: f for f in CHECK.run(ctx)}


def test_sql_keeps_only_unencrypted_tcp_from_other_hosts():
    sql = CHECK.queries["mssql"]["unencrypted_connections"]
    assert "c.encrypt_option = 'FALSE' AND c.net_transport = 'TCP'" in sql
    assert "NOT IN ('127.0.0.1', '::1', '<local machine>')" in sql


def test_one_warning_per_login_and_client_with_programs_merged():
    found = run([group("erp", "10.0.0.5", "Lucee", 12), group("erp", "10.0.0.5", "jTDS", 3),
                 group("report", "10.0.0.9", "SSMS", 1)])
    assert set(found) == {"erp@10.0.0.5", "report@10.0.0.9"}
    erp = found["erp@10.0.0.5"]
    assert erp.severity == "warning"
    assert erp.summary == "15 unencrypted connection(s) of login erp from 10.0.0.5"
    assert erp.evidence["program_names"] == ["Lucee", "jTDS"]
    assert "Encrypt=yes" in erp.recommendation and "forceencryption" in erp.recommendation


def test_clean_twin_and_allowed_clients():
    assert run([]) == {}
    assert set(run([group("erp", "10.0.0.5", "Lucee", 2), group("bi", "10.1.2.3", "x", 1)],
                   {"allowed_unencrypted_clients": ["10.0.0.*"]})) == {"bi@10.1.2.3"}
